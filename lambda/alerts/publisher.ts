import type { SNSClient } from '@aws-sdk/client-sns';
import { SyncError, describeError } from '../errors';
import { AlertMessage } from './messages';

/** Where alerts go. */
export interface AlertPublisher {
  /** False when no destination is configured: alerts are then skipped, state and all. */
  readonly enabled: boolean;
  /** Sends one alert; throws SyncError `alert-publish-failed` when it cannot. */
  publish(message: AlertMessage): Promise<void>;
}

/** An SNS client, or how to make one when the first alert is published (most runs publish nothing). */
export type SnsClientSource = SNSClient | (() => Promise<SNSClient>);

/**
 * An SNS client made on first use: the SDK's SNS module is loaded only then, so a cold start that publishes
 * nothing (an unchanged run) neither loads it nor builds the client. Made once, then reused.
 */
export function lazySnsClient(): () => Promise<SNSClient> {
  let client: Promise<SNSClient> | undefined;
  return () => (client ??= import('@aws-sdk/client-sns').then(({ SNSClient }) => new SNSClient({})));
}

/**
 * Publishes to an SNS topic, with the event as the `event` message attribute so subscriptions can filter
 * (e.g. a pager only on `failed`). No topic: a publisher that is disabled and does nothing.
 */
export function snsPublisher(sns: SnsClientSource, topicArn: string | undefined): AlertPublisher {
  if (!topicArn) return { enabled: false, publish: async () => undefined };
  return {
    enabled: true,
    async publish(message: AlertMessage): Promise<void> {
      try {
        const client = typeof sns === 'function' ? await sns() : sns;
        const { PublishCommand } = await import('@aws-sdk/client-sns');
        await client.send(
          new PublishCommand({
            TopicArn: topicArn,
            Subject: message.subject,
            Message: message.body,
            MessageAttributes: { event: { DataType: 'String', StringValue: message.event } },
          }),
        );
      } catch (err) {
        throw new SyncError(
          'alert-publish-failed',
          `Could not publish the "${message.event}" alert to ${topicArn}: ${describeError(err)}.`,
          "Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.",
          { cause: err },
        );
      }
    },
  };
}
