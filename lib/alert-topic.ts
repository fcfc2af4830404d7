import { ArnFormat, Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

/** Props of {@link addAlertTopic}. */
export interface AlertTopicProps {
  /** Names the topic and its key. */
  readonly allowlistName: string;
  /** An existing topic to use instead of creating one. @default - an encrypted topic is created */
  readonly alertTopicArn?: string;
  /** The key of that existing topic. @default - none */
  readonly alertTopicKeyArn?: string;
  /** Addresses subscribed to the topic. @default - none */
  readonly notifyEmails?: string[];
}

/**
 * The topic alerts and alarms go to, in `scope` (ids `AlertTopic` and `AlertTopicKey`, as they always were): a
 * KMS-encrypted, TLS-only topic CloudWatch alarms can publish to, or an existing one; plus its e-mail subscriptions.
 */
export function addAlertTopic(scope: Construct, props: AlertTopicProps): { topic: sns.ITopic; topicKey?: kms.Key } {
  const topicAndKey = props.alertTopicArn
    ? { topic: sns.Topic.fromTopicAttributes(scope, 'AlertTopic', { topicArn: props.alertTopicArn, keyArn: props.alertTopicKeyArn }) }
    : createdTopic(scope, props.allowlistName);
  for (const email of props.notifyEmails ?? []) topicAndKey.topic.addSubscription(new EmailSubscription(email));
  return topicAndKey;
}

function createdTopic(scope: Construct, allowlistName: string): { topic: sns.Topic; topicKey: kms.Key } {
  const topicKey = new kms.Key(scope, 'AlertTopicKey', {
    description: `allowlist-sync ${allowlistName}: encrypts the alert topic`,
    enableKeyRotation: true,
    // Encrypts messages in flight only; nothing stored depends on it once the stack is gone.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  topicKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      // In a key policy "*" means this key and nothing else.
      resources: ['*'],
    }),
  );
  const topic = new sns.Topic(scope, 'AlertTopic', {
    displayName: `allowlist-sync ${allowlistName}`,
    masterKey: topicKey,
    enforceSSL: true,
  });
  // enforceSSL gives the topic an explicit access policy, which replaces SNS's default one;
  // without this statement CloudWatch alarms are refused ("no resource-based policy allows").
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': Stack.of(scope).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
  return { topic, topicKey };
}
