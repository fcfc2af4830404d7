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
  let client: SNSClient | undefined;
  return async () => (client ??= new (snsModule().SNSClient)({}));
}

/**
 * The SDK's SNS module, loaded on first call. A `require`, not `import()`: the bundle is CommonJS and the SDK is the
 * runtime's, found through NODE_PATH, which only `require` resolves (ESM resolution ignores NODE_PATH).
 */
function snsModule(): typeof import('@aws-sdk/client-sns') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns');
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
        const { PublishCommand } = snsModule();
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
