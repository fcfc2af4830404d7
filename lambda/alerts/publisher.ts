import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SyncError, describeError } from '../errors';
import { AlertMessage } from './messages';

/** Where alerts go. */
export interface AlertPublisher {
  /** False when no destination is configured: alerts are then skipped, state and all. */
  readonly enabled: boolean;
  /** Sends one alert; throws SyncError `alert-publish-failed` when it cannot. */
  publish(message: AlertMessage): Promise<void>;
}

/**
 * Publishes to an SNS topic, with the event as the `event` message attribute so subscriptions can filter
 * (e.g. a pager only on `failed`). No topic: a publisher that is disabled and does nothing.
 */
export function snsPublisher(sns: SNSClient, topicArn: string | undefined): AlertPublisher {
  if (!topicArn) return { enabled: false, publish: async () => undefined };
  return {
    enabled: true,
    async publish(message: AlertMessage): Promise<void> {
      try {
        await sns.send(
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
