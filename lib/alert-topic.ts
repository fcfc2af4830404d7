import { ArnFormat, Aws, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
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
  /** An existing topic, as a CDK object. @default - an encrypted topic is created */
  readonly alertTopic?: sns.ITopic;
  /** With an existing topic, its key (when its masterKey does not say); else the key of the created topic. @default - a new key */
  readonly alertTopicKey?: kms.IKey;
  /** Addresses subscribed to the topic. @default - none */
  readonly notifyEmails?: string[];
}

/** The alert topic and the keys the function must be able to use to publish to it. */
export interface AlertTopic {
  readonly topic: sns.ITopic;
  /** The key created here for a created topic; undefined when a key or a topic was given. */
  readonly topicKey?: kms.Key;
  /** The key publishing needs beyond the topic's own masterKey (a given topic's alertTopicKey), if any. */
  readonly extraKey?: kms.IKey;
  /** Whether publishing goes through a customer managed key at all. */
  readonly encrypted: boolean;
}

/**
 * The topic alerts and alarms go to, in `scope` (ids `AlertTopic` and `AlertTopicKey`, as they always were): a
 * KMS-encrypted, TLS-only topic CloudWatch alarms can publish to, or an existing one; plus its e-mail subscriptions.
 */
export function addAlertTopic(scope: Construct, props: AlertTopicProps): AlertTopic {
  let out: AlertTopic;
  if (props.alertTopic) {
    const own = props.alertTopic.masterKey;
    out = { topic: props.alertTopic, ...(own ? {} : props.alertTopicKey ? { extraKey: props.alertTopicKey } : {}), encrypted: Boolean(own ?? props.alertTopicKey) };
  } else if (props.alertTopicArn) {
    const keyArn = props.alertTopicKeyArn;
    const topic = sns.Topic.fromTopicAttributes(scope, 'AlertTopic', { topicArn: props.alertTopicArn, ...(keyArn ? { keyArn } : {}) });
    out = { topic, ...(props.alertTopicKey ? { extraKey: props.alertTopicKey } : {}), encrypted: Boolean(keyArn ?? props.alertTopicKey) };
  } else {
    out = createdTopic(scope, props.allowlistName, props.alertTopicKey);
  }
  for (const email of props.notifyEmails ?? []) out.topic.addSubscription(new EmailSubscription(email));
  return out;
}

function createdTopic(scope: Construct, allowlistName: string, givenKey: kms.IKey | undefined): AlertTopic {
  const topicKey =
    givenKey ??
    new kms.Key(scope, 'AlertTopicKey', {
      description: `allowlist-sync ${allowlistName}: encrypts the alert topic`,
      enableKeyRotation: true,
      // Encrypts messages in flight only; nothing stored depends on it once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  const { statementAdded } = topicKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      // In a key policy "*" means this key and nothing else.
      resources: ['*'],
    }),
  );
  if (!statementAdded) {
    // An imported key's policy cannot be changed from here; without this statement alarms never reach the topic.
    Validations.of(scope).addWarning(
      'AllowlistSyncAlertTopicKeyPolicy',
      `alertTopicKey ${topicKey.keyArn} is imported, so its key policy is not changed here: it must allow cloudwatch.amazonaws.com ` +
        'kms:Decrypt and kms:GenerateDataKey*, or the alarms cannot publish to the alert topic',
    );
  }
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
  return { topic, ...(givenKey ? {} : { topicKey: topicKey as kms.Key }), encrypted: true };
}
