import { App, Aws, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AllowlistSync, SCHEDULE_PAYLOAD } from '../../lib/allowlist-sync';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { PLACEHOLDER_POLICY_DOCUMENT } from '../../lib/placeholder-policy';
import { ADOPTED, FULL, KEY_ARN, POLICY_ARN, TOPIC_ARN, TOPIC_KEY_ARN } from './fixtures';
import { logicalId, only, resourcesOfType, synth } from './support';
import type { CfnJson, Synth } from './support';

// Three syntheses shared by every test in this file: defaults, every prop set, adopted resources.
const defaults = synth();
const full = synth(FULL);
const adopted = synth(ADOPTED);

const ids = (s: Synth) => {
  const c = s.stack.sync;
  return {
    policy: c.policy ? logicalId(s, c.policy) : undefined,
    fn: logicalId(s, c.function),
    role: logicalId(s, c.role),
    logs: logicalId(s, c.function.logs),
    dlq: logicalId(s, c.deadLetterQueue),
    topic: c.topicKey ? logicalId(s, c.topic) : undefined,
    key: c.topicKey ? logicalId(s, c.topicKey) : undefined,
  };
};
const stateTableId = (s: Synth) => logicalId(s, s.stack.sync.stateTable);
const ref = (id: string | undefined) => ({ Ref: id });
const arnOf = (id: string | undefined) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const fnProps = (s: Synth) => s.json.Resources[ids(s).fn].Properties as Record<string, unknown>;
const statementsOf = (r: CfnJson) => (r.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } }).PolicyDocument.Statement;
const roleDefaultPolicy = (s: Synth) => s.json.Resources[logicalId(s, s.stack.sync.role.node.findChild('DefaultPolicy'))];
const partitionArn = (service: string, rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, rest]],
});

describe('the state table', () => {
  test('on-demand, point-in-time recovery, encrypted, retained, keys pk and sk (both strings)', () => {
    const table = defaults.json.Resources[stateTableId(defaults)];
    expect(table).toMatchObject({
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  test("only the function's role may use it: item actions on this table alone, granted nowhere else", () => {
    const statements = statementsOf(roleDefaultPolicy(defaults));
    expect(statements.find((st) => st.Sid === 'UseStateTable')).toEqual({
      Sid: 'UseStateTable',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      Resource: arnOf(stateTableId(defaults)),
    });
    // No other policy in the stack names the table, and no statement grants DynamoDB on anything else.
    for (const [id, resource] of Object.entries(defaults.json.Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      for (const st of statementsOf(resource)) {
        const actions = ([] as string[]).concat((st.Action as string | string[]) ?? []);
        if (!actions.some((a) => a.startsWith('dynamodb:'))) continue;
        expect([id, st.Resource]).toEqual([logicalId(defaults, defaults.stack.sync.role.node.findChild('DefaultPolicy')), arnOf(stateTableId(defaults))]);
      }
    }
  });
});

describe('the sync function', () => {
  test('Node.js 24 on ARM64, 256 MB / 60 s, one run at a time, its own role and log group', () => {
    const { role, logs } = ids(defaults);
    expect(fnProps(defaults)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 60,
      ReservedConcurrentExecutions: 1,
      Role: arnOf(role),
      LoggingConfig: { LogGroup: ref(logs) },
    });
    defaults.template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain' });
    // Failed async runs are not retried by Lambda: the next scheduled run is the retry.
    defaults.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(ids(defaults).fn),
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
      Qualifier: '$LATEST',
    });
  });

  test('memory, timeout and log retention follow the props', () => {
    expect(fnProps(full)).toMatchObject({ MemorySize: 512, Timeout: 120 });
    full.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('defaults set only the required environment, plus source maps', () => {
    const { policy, topic } = ids(defaults);
    expect((fnProps(defaults).Environment as { Variables: unknown }).Variables).toEqual({
      POLICY_ARN: ref(policy),
      OCM_CREDENTIALS_PARAMETER: '/allowlist-sync/ocm-credentials',
      ALERT_TOPIC_ARN: ref(topic),
      STATE_TABLE: { Ref: stateTableId(defaults) },
      ALLOWLIST_NAME: 'rosa-trusted-ips',
      POWERTOOLS_SERVICE_NAME: 'rosa-trusted-ips',
      POWERTOOLS_METRICS_NAMESPACE: 'AllowlistSync',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('every optional setting becomes its environment variable', () => {
    const { policy, topic } = ids(full);
    expect((fnProps(full).Environment as { Variables: unknown }).Variables).toEqual({
      POLICY_ARN: ref(policy),
      STATE_TABLE: { Ref: stateTableId(full) },
      OCM_CREDENTIALS_PARAMETER: '/team/ocm',
      OCM_API_URL: 'https://api.stage.openshift.com',
      OCM_TOKEN_URL: 'https://sso.example.com/token',
      ALERT_TOPIC_ARN: ref(topic),
      DRY_RUN: 'true',
      EXTRA_CIDRS: '203.0.113.0/24,2001:db8::/48',
      MIN_ENTRIES: '5',
      MAX_REMOVAL_FRACTION: '0.25',
      BROADEST_IPV4_PREFIX: '16',
      BROADEST_IPV6_PREFIX: '32',
      MAX_ADDED_IPV4_ADDRESSES: '1024',
      MAX_ADDED_IPV6_PREFIX: '48',
      BASELINE_WINDOW_DAYS: '14',
      APPROVAL_MAX_AGE_HOURS: '4',
      KMS_VIA_SERVICE_EXEMPTION: 'false',
      POLICY_CHECKS: 'required',
      // The principals the policy must stay attached to: the function attaches it again if someone detaches it.
      ATTACH_TO_ROLES: 'ManagedOpenShift-Support-Role,arn:aws:iam::123456789012:role/rosa/Installer-Role',
      ATTACH_TO_USERS: 'breakglass',
      ATTACH_TO_GROUPS: 'admins',
      ALLOWLIST_NAME: 'partner-ips',
      POWERTOOLS_SERVICE_NAME: 'partner-ips',
      POWERTOOLS_METRICS_NAMESPACE: 'Security/Allowlists',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('an adopted policy and an existing topic are passed by ARN', () => {
    expect(fnProps(adopted).Environment).toMatchObject({ Variables: { POLICY_ARN: POLICY_ARN, ALERT_TOPIC_ARN: TOPIC_ARN } });
  });
});

describe('least privilege', () => {
  test('the function role trusts Lambda only and carries no AWS managed policy', () => {
    const role = defaults.json.Resources[ids(defaults).role].Properties as Record<string, unknown>;
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
    });
  });

  test('every statement names exactly the one resource it needs (default SSM key, created topic)', () => {
    const { policy, topic, key, logs } = ids(defaults);
    expect(statementsOf(roleDefaultPolicy(defaults))).toEqual([
      {
        Sid: 'ReadAllowlistPolicy',
        Effect: 'Allow',
        // ListEntitiesForPolicy: is the policy still attached where it must be (attachTo*).
        Action: ['iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions', 'iam:ListEntitiesForPolicy'],
        Resource: ref(policy),
      },
      {
        Sid: 'WriteAllowlistPolicy',
        Effect: 'Allow',
        Action: ['iam:CreatePolicyVersion', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion'],
        Resource: ref(policy),
      },
      {
        Sid: 'UseStateTable',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        Resource: arnOf(stateTableId(defaults)),
      },
      { Sid: 'ReadOcmCredentials', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: partitionArn('ssm', ':parameter/allowlist-sync/ocm-credentials') },
      {
        Sid: 'DecryptOcmCredentials',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: partitionArn('kms', ':key/*'),
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/aws/ssm'] },
        },
      },
      { Effect: 'Allow', Action: 'sns:Publish', Resource: ref(topic) },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: arnOf(key) },
      // Neither action has a resource type: they evaluate the document sent with the call (test/lib/policy-checks.test.ts).
      { Sid: 'CheckPolicyDocuments', Effect: 'Allow', Action: ['iam:SimulateCustomPolicy', 'access-analyzer:ValidatePolicy'], Resource: '*' },
      { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(logs) },
    ]);
  });

  test('a customer managed parameter key is named exactly, still only via SSM', () => {
    const decrypt = statementsOf(roleDefaultPolicy(full)).find((s) => s.Sid === 'DecryptOcmCredentials');
    expect(decrypt).toEqual({
      Sid: 'DecryptOcmCredentials',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    });
    expect(statementsOf(roleDefaultPolicy(full)).find((s) => s.Sid === 'ReadOcmCredentials')).toMatchObject({
      Resource: partitionArn('ssm', ':parameter/team/ocm'),
    });
  });

  test('an adopted policy and an existing topic (and its key) are named by their ARNs', () => {
    const statements = statementsOf(roleDefaultPolicy(adopted));
    for (const sid of ['ReadAllowlistPolicy', 'WriteAllowlistPolicy']) {
      expect(statements.find((s) => s.Sid === sid)).toMatchObject({ Resource: POLICY_ARN });
    }
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC_ARN });
    expect(statements).toContainEqual({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: TOPIC_KEY_ARN });
  });

  test('no IAM statement anywhere allows a bare "*" resource, but the policy checks (which have no resource type)', () => {
    for (const s of [defaults, full, adopted]) {
      const documents = [
        ...Object.values(resourcesOfType(s, 'AWS::IAM::Policy')).map((r) => (r.Properties as { PolicyDocument: unknown }).PolicyDocument),
        ...Object.values(resourcesOfType(s, 'AWS::IAM::Role')).flatMap((r) =>
          ((r.Properties as { Policies?: Array<{ PolicyDocument: unknown }> }).Policies ?? []).map((p) => p.PolicyDocument),
        ),
      ] as Array<{ Statement: Array<{ Effect: string; Resource: unknown }> }>;
      const allows = documents.flatMap((d) => d.Statement).filter((st) => st.Effect === 'Allow');
      expect(allows.length).toBeGreaterThan(0);
      for (const st of allows.filter((a) => (a as { Sid?: string }).Sid !== 'CheckPolicyDocuments')) expect([st.Resource].flat()).not.toContain('*');
      expect(allows.filter((a) => [a.Resource].flat().includes('*'))).toEqual([
        { Sid: 'CheckPolicyDocuments', Effect: 'Allow', Action: ['iam:SimulateCustomPolicy', 'access-analyzer:ValidatePolicy'], Resource: '*' },
      ]);
    }
  });
});

describe('the policy', () => {
  test('is created with the constant placeholder, kept on delete and on replacement', () => {
    defaults.template.hasResource('AWS::IAM::ManagedPolicy', {
      Properties: Match.exact({
        Description: Match.stringLikeRegexp('allowlist-sync'),
        PolicyDocument: PLACEHOLDER_POLICY_DOCUMENT,
      }),
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('an adopted policy is not created, only used', () => {
    adopted.template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    expect(adopted.stack.sync.policyArn).toBe(POLICY_ARN);
  });

  test('is attached to existing roles, users and groups, each scoped to this policy and that principal', () => {
    const policy = ref(ids(full).policy);
    const attachments = resourcesOfType(full, 'Custom::AllowlistPolicyAttachment');
    expect(Object.keys(attachments)).toHaveLength(4);
    const cases: Array<[string, string, string, unknown]> = [
      ['AttachRolePolicy', 'RoleName', 'ManagedOpenShift-Support-Role', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/ManagedOpenShift-Support-Role']] }],
      ['AttachRolePolicy', 'RoleName', 'Installer-Role', 'arn:aws:iam::123456789012:role/rosa/Installer-Role'],
      ['AttachUserPolicy', 'UserName', 'breakglass', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/breakglass']] }],
      ['AttachGroupPolicy', 'GroupName', 'admins', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':group/admins']] }],
    ];
    for (const [action, param, name, principalArn] of cases) {
      const [id, resource] = Object.entries(attachments).find(([, r]) => JSON.stringify(r.Properties?.Create).includes(`"${param}\\":\\"${name}\\"`))!;
      const create = JSON.stringify(resource.Properties?.Create);
      expect(create).toContain(action);
      expect(JSON.stringify(resource.Properties?.Delete)).toContain(action.replace('Attach', 'Detach'));
      const providerPolicy = full.json.Resources[(resource.DependsOn as string[])[0]];
      expect(statementsOf(providerPolicy)).toEqual([
        {
          Effect: 'Allow',
          Action: [`iam:${action}`, `iam:${action.replace('Attach', 'Detach')}`],
          Resource: principalArn,
          Condition: { ArnEquals: { 'iam:PolicyARN': policy } },
        },
      ]);
      expect(id).toBeDefined();
    }
  });

  test('no attachments, no attachment provider', () => {
    defaults.template.resourceCountIs('Custom::AllowlistPolicyAttachment', 0);
    expect(defaults.stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287')).toBeUndefined();
  });
});

describe('the schedule', () => {
  test('every 15 minutes, with the schedule payload, retries and a dead-letter queue', () => {
    const { fn, dlq } = ids(defaults);
    defaults.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Target: {
        Arn: arnOf(fn),
        Input: JSON.stringify(SCHEDULE_PAYLOAD),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 900 },
        DeadLetterConfig: { Arn: arnOf(dlq) },
      },
    });
    expect(JSON.parse(JSON.stringify(SCHEDULE_PAYLOAD))).toEqual({ source: 'allowlist-sync.schedule' });
  });

  test('rate, cron, retries and event age follow the props', () => {
    full.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 minutes)',
      Target: { RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 1200 } },
    });
    adopted.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0/10 * * * ? *)' });
  });

  test('the dead-letter queue is encrypted and refuses plain HTTP', () => {
    const { dlq } = ids(defaults);
    defaults.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    defaults.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(dlq)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('alerts', () => {
  test('a topic encrypted with a rotating key that CloudWatch alarms may use, TLS only', () => {
    const { topic, key } = ids(defaults);
    defaults.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(key) });
    defaults.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ]),
      },
    });
    defaults.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(topic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: ref(topic),
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  test('optional e-mail subscriptions', () => {
    defaults.template.resourceCountIs('AWS::SNS::Subscription', 0);
    full.template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const email of ['sre@example.com', 'oncall@example.com']) {
      full.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: ref(ids(full).topic) });
    }
  });

  test('an existing topic is used as is: no topic, no key, subscriptions on it', () => {
    adopted.template.resourceCountIs('AWS::SNS::Topic', 0);
    adopted.template.resourceCountIs('AWS::KMS::Key', 0);
    adopted.template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: TOPIC_ARN, Endpoint: 'sre@example.com' });
  });
});

describe('alarms', () => {
  const alarms = (s: Synth) => Object.values(resourcesOfType(s, 'AWS::CloudWatch::Alarm')).map((r) => r.Properties as Record<string, unknown>);

  test('four alarms, each sending ALARM and OK to the topic', () => {
    for (const [s, topic] of [[defaults, ref(ids(defaults).topic)], [adopted, TOPIC_ARN]] as const) {
      expect(alarms(s)).toHaveLength(4);
      for (const a of alarms(s)) expect(a).toMatchObject({ AlarmActions: [topic], OKActions: [topic] });
    }
  });

  test('function errors, refused runs, staleness and dead letters', () => {
    const { fn, dlq } = ids(defaults);
    const t = defaults.template;
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
      Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AllowlistSync', MetricName: 'Refused', Dimensions: [{ Name: 'service', Value: 'rosa-trusted-ips' }],
      Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
    // Stale: no SyncSucceeded for two schedule periods; missing data is breaching.
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AllowlistSync', MetricName: 'SyncSucceeded', Dimensions: [{ Name: 'service', Value: 'rosa-trusted-ips' }],
      Statistic: 'Sum', Period: 900, EvaluationPeriods: 2, DatapointsToAlarm: 2,
      Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('staleness follows the schedule, or the explicit threshold for cron', () => {
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Security/Allowlists', MetricName: 'SyncSucceeded', Dimensions: [{ Name: 'service', Value: 'partner-ips' }], Period: 1800, EvaluationPeriods: 2,
    });
    adopted.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SyncSucceeded', Period: 900, EvaluationPeriods: 2 });
  });
});

describe('the first sync during deployment', () => {
  const trigger = (s: Synth) => only(s, 'Custom::Trigger');

  test('invokes the current version synchronously, after the policy, function and attachments', () => {
    const [, t] = trigger(full);
    const version = logicalId(full, full.stack.sync.function.currentVersion);
    expect(t.Properties).toMatchObject({ InvocationType: 'Event', HandlerArn: ref(version), ExecuteOnHandlerChange: true, Timeout: '150000' });
    const { policy, fn, role, logs } = ids(full);
    const deps = t.DependsOn as string[];
    const attachments = Object.keys(resourcesOfType(full, 'Custom::AllowlistPolicyAttachment'));
    const roleDefaultPolicyId = logicalId(full, full.stack.sync.role.node.findChild('DefaultPolicy'));
    expect(deps).toEqual(expect.arrayContaining([policy, fn, role, roleDefaultPolicyId, logs, version, ...attachments]));
  });

  test('monitoring starts after it: the schedule and the alarms wait for the trigger', () => {
    const [triggerId] = trigger(defaults);
    for (const type of ['AWS::Scheduler::Schedule', 'AWS::CloudWatch::Alarm']) {
      for (const r of Object.values(resourcesOfType(defaults, type))) expect(r.DependsOn).toContain(triggerId);
    }
  });

  test('can be turned off', () => {
    adopted.template.resourceCountIs('Custom::Trigger', 0);
  });
});

describe('outputs', () => {
  test('policy ARN, function name, topic ARN and ready-to-paste commands', () => {
    const { policy, fn, topic } = ids(defaults);
    const out = defaults.json.Outputs;
    expect(out.PolicyArn.Value).toEqual(ref(policy));
    expect(out.FunctionName.Value).toEqual(ref(fn));
    expect(out.AlertTopicArn.Value).toEqual(ref(topic));
    expect(out.RunNowCommand.Value).toEqual({
      'Fn::Join': ['', ['aws lambda invoke --function-name ', ref(fn), " --payload '{}' --cli-binary-format raw-in-base64-out /dev/stdout"]],
    });
    expect(out.DryRunCommand.Value).toEqual({
      'Fn::Join': ['', ['aws lambda invoke --function-name ', ref(fn), ` --payload '{"dryRun":true}' --cli-binary-format raw-in-base64-out /dev/stdout`]],
    });
    expect(out.StatusCommand.Value).toEqual({
      'Fn::Join': ['', ['aws lambda invoke --function-name ', ref(fn), ` --payload '{"action":"status"}' --cli-binary-format raw-in-base64-out /dev/stdout`]],
    });
    // Break-glass needs only the AWS CLI; the events name the main allowlist, so they also work with several targets.
    expect(out.PauseCommand.Value).toEqual({
      'Fn::Join': ['', ['aws lambda invoke --function-name ', ref(fn), ` --payload '{"target":"rosa-trusted-ips","action":"pause","reason":"WHY","by":"WHO"}' --cli-binary-format raw-in-base64-out /dev/stdout`]],
    });
    expect(out.ResumeCommand.Value).toEqual({
      'Fn::Join': ['', ['aws lambda invoke --function-name ', ref(fn), ` --payload '{"target":"rosa-trusted-ips","action":"resume","by":"WHO"}' --cli-binary-format raw-in-base64-out /dev/stdout`]],
    });
    expect(adopted.json.Outputs.PolicyArn.Value).toBe(POLICY_ARN);
  });
});

describe('reuse inside any stack', () => {
  test('two instances live side by side in one stack with distinct role names', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Shared');
    const a = new AllowlistSync(stack, 'Rosa');
    const b = new AllowlistSync(stack, 'Partners', { allowlistName: 'partner-ips' });
    const names = [a, b].map((c) => JSON.stringify(stack.resolve(c.role.roleName)));
    expect(names[0]).not.toEqual(names[1]);
  });
});

describe('synthesis fails on props that cannot work', () => {
  const build = (props: AllowlistSyncProps, env?: { region: string }) => () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new AllowlistSync(new Stack(app, 'AllowlistSync', { env }), 'AllowlistSync', props);
  };
  // Name of the function role in this configuration: "<prefix>-<region>".
  const roleName = (defaults.json.Resources[ids(defaults).role].Properties as { RoleName: { 'Fn::Join': [string, [string, unknown]] } }).RoleName;
  const rolePrefix = roleName['Fn::Join'][1][0].replace(/-$/, '');

  test('the function role name is a fixed prefix plus the region', () => {
    expect(rolePrefix).toMatch(/^AllowlistSync-[0-9A-F]{8}$/);
    expect(roleName).toEqual({ 'Fn::Join': ['', [`${rolePrefix}-`, { Ref: 'AWS::Region' }]] });
  });

  test.each([`${rolePrefix}-eu-west-1`, `${rolePrefix.toUpperCase()}-US-EAST-1`, `arn:aws:iam::123456789012:role/${rolePrefix}-eu-west-1`])(
    'the function can never be locked out by its own allowlist: %s',
    (name) => {
      expect(build({ attachToRoles: ['ManagedOpenShift-Support-Role', name] })).toThrow(/invalid attachToRoles: .* is the sync function's own role/);
      expect(build({ attachToRoles: [name] }, { region: 'eu-west-1' })).toThrow(/own role/);
    },
  );

  test('nor by a name built from the region token', () => {
    expect(build({ attachToRoles: [`${rolePrefix}-${Aws.REGION}`] })).toThrow(/own role/);
  });

  test('a reference to another role is fine', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'S');
    const first = new AllowlistSync(stack, 'A');
    expect(() => new AllowlistSync(stack, 'B', { attachToRoles: [first.role.roleName] })).not.toThrow();
  });

  test.each([
    [{ notifyEmails: ['sre@example'] }, /invalid notifyEmails: "sre@example" is not an e-mail address/],
    [{ existingPolicyArn: POLICY_ARN, policyName: 'x' }, /invalid existingPolicyArn: .*policyName/],
    [{ alertTopicKeyArn: TOPIC_KEY_ARN }, /invalid alertTopicKeyArn: only applies together with alertTopicArn/],
    [{ schedule: 'cron(0 * * * ? *)' }, /invalid schedule\/stalenessThreshold: a cron schedule has no fixed period/],
    [{ schedule: 'hourly' }, /invalid schedule:/],
    [{ attachToUsers: ['a', 'A'] }, /invalid attachToUsers: "A" is listed twice/],
    [{ attachToGroups: ['arn:aws:iam::123456789012:role/x'] }, /invalid attachToGroups: .*role ARN, not a group/],
    [{ minEntries: 1.5 }, /invalid minEntries/],
    [{ maxRemovalFraction: 2 }, /invalid maxRemovalFraction/],
    [{ extraCidrs: ['300.0.0.0/8'] }, /invalid extraCidrs/],
    [{ ocmCredentialsKeyArn: 'alias/aws/ssm' }, /invalid ocmCredentialsKeyArn/],
  ] as Array<[AllowlistSyncProps, RegExp]>)('%j', (props, message) => {
    expect(build(props)).toThrow(message);
  });
});
