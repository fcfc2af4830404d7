import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { PLACEHOLDER_POLICY_DOCUMENT, PLACEHOLDER_SID } from '../../lib/placeholder-policy';
import { ADOPTED, FULL, KEY_ARN, TARGETS, TOPIC_ARN } from './fixtures';
import { logicalId, only, resourcesOfType, synth } from './support';
import type { CfnJson, Synth } from './support';

/**
 * "One writer, and never a reset": after deployment only the sync function writes the policy's
 * versions, and no redeploy, whatever its props, can put a placeholder or an old list back.
 */

// How each prop relates to the policy resource. A Record over keyof forces whoever adds a prop to
// classify it here (tsc fails otherwise), so the byte-identity test below keeps covering them all.
const PROP_KINDS: Record<keyof AllowlistSyncProps, 'mutable' | 'immutable' | 'adoption' | 'deletion'> = {
  allowlistName: 'mutable',
  existingPolicyArn: 'adoption',
  policyName: 'immutable',
  policyPath: 'immutable',
  policyRemovalPolicy: 'deletion',
  attachToRoles: 'mutable',
  attachToUsers: 'mutable',
  attachToGroups: 'mutable',
  ocmCredentialsParameterName: 'mutable',
  ocmCredentialsKeyArn: 'mutable',
  ocmCredentialsKey: 'mutable',
  ocmApiUrl: 'mutable',
  ocmTokenUrl: 'mutable',
  extraCidrs: 'mutable',
  ocmEnabled: 'mutable',
  cidrsParameterName: 'mutable',
  additionalTargets: 'mutable',
  fleet: 'mutable',
  dryRun: 'mutable',
  minEntries: 'mutable',
  maxRemovalFraction: 'mutable',
  broadestIpv4Prefix: 'mutable',
  broadestIpv6Prefix: 'mutable',
  maxAddedIpv4Addresses: 'mutable',
  maxAddedIpv6Prefix: 'mutable',
  baselineWindowDays: 'mutable',
  approvalMaxAgeHours: 'mutable',
  kmsViaServiceExemption: 'mutable',
  vpcExemption: 'mutable',
  includeCidrs: 'mutable',
  excludeCidrs: 'mutable',
  policyChecks: 'mutable',
  schedule: 'mutable',
  stalenessThreshold: 'mutable',
  retryAttempts: 'mutable',
  maxEventAge: 'mutable',
  syncOnDeploy: 'mutable',
  alertTopicArn: 'mutable',
  alertTopicKeyArn: 'mutable',
  alertTopic: 'mutable',
  alertTopicKey: 'mutable',
  stateTableKey: 'mutable',
  notifyEmails: 'mutable',
  memorySize: 'mutable',
  timeout: 'mutable',
  logRetention: 'mutable',
  logLevel: 'mutable',
  metricsNamespace: 'mutable',
  dashboard: 'mutable',
};
const mutable = (Object.keys(PROP_KINDS) as Array<keyof AllowlistSyncProps>).filter((k) => PROP_KINDS[k] === 'mutable');

// Every mutable prop changed at once: FULL (created topic) and the existing-topic/cron variant.
const adoptedButCreated: AllowlistSyncProps = { ...ADOPTED, existingPolicyArn: undefined };
// Static-only main allowlist plus several targets: the main policy must not notice them.
const staticWithTargets: AllowlistSyncProps = {
  ocmEnabled: false,
  extraCidrs: ['203.0.113.0/24'],
  cidrsParameterName: '/office/cidrs',
  additionalTargets: TARGETS,
  includeCidrs: ['203.0.113.0/24'],
  excludeCidrs: ['203.0.113.128/25'],
  vpcExemption: ['vpce-0123456789abcdef0'],
  fleet: { organizationalUnitIds: ['ou-abcd-12345678'], ocm: false, cidrs: ['198.51.100.0/24'] },
  dashboard: false,
};
// The props that take CDK objects: an existing topic and keys, imported in a scratch stack (their ARNs are literal).
const scratch = new Stack(new App(), 'Scratch');
const key = Key.fromKeyArn(scratch, 'Key', KEY_ARN);
const cdkObjects: AllowlistSyncProps = {
  alertTopic: Topic.fromTopicArn(scratch, 'Topic', TOPIC_ARN),
  alertTopicKey: key,
  stateTableKey: key,
  ocmCredentialsKey: key,
  attachToRoles: [Role.fromRoleArn(scratch, 'Role', 'arn:aws:iam::123456789012:role/rosa/ManagedOpenShift-Support-Role')],
};
const VARIANTS: AllowlistSyncProps[] = [FULL, adoptedButCreated, staticWithTargets, cdkObjects];

const baseline = synth();
const variants = VARIANTS.map((props) => synth(props));
// The main policy (targets may add managed policies of their own; targets.test.ts covers those).
const policyOf = (s: Synth): [string, CfnJson] => {
  const id = logicalId(s, s.stack.sync.policy!);
  return [id, resourcesOfType(s, 'AWS::IAM::ManagedPolicy')[id]];
};

describe('the created policy resource never changes after creation', () => {
  test('the variants between them change every mutable prop', () => {
    const changed = new Set(VARIANTS.flatMap((v) => Object.keys(v)));
    expect(mutable.filter((k) => !changed.has(k))).toEqual([]);
  });

  test.each(variants.map((s, i) => [i, s] as const))('variant %i: same logical id, byte-identical resource', (_i, variant) => {
    const [baseId, base] = policyOf(baseline);
    const [id, policy] = policyOf(variant);
    expect(id).toBe(baseId);
    // Properties and attributes alike: CloudFormation has nothing to update, so it never writes a version.
    expect(JSON.stringify(policy)).toBe(JSON.stringify(base));
  });

  test('the removal policy only moves the DeletionPolicy attribute, never the properties', () => {
    const [, base] = policyOf(baseline);
    const [, destroy] = policyOf(synth({ policyRemovalPolicy: RemovalPolicy.DESTROY }));
    expect(JSON.stringify(destroy.Properties)).toBe(JSON.stringify(base.Properties));
    expect(destroy.DeletionPolicy).toBe('Delete');
  });

  test('name and path are the only props that reach the resource (immutable: documented as replacing it)', () => {
    const [, named] = policyOf(synth({ policyName: 'rosa-allowlist', policyPath: '/allowlists/' }));
    expect(named.Properties).toEqual({
      ...policyOf(baseline)[1].Properties,
      ManagedPolicyName: 'rosa-allowlist',
      Path: '/allowlists/',
    });
  });
});

describe('a props change cannot reset the live allowlist', () => {
  const all = [baseline, ...variants, synth(ADOPTED)];
  // Every action pattern that would let a principal publish, delete or switch policy versions.
  const VERSION_WRITES = ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion'];
  const covers = (pattern: string, action: string) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action);
  type Doc = { Statement: Array<{ Effect: string; Action: string | string[] }> };
  const writes = (doc: Doc) =>
    doc.Statement.some((st) => st.Effect === 'Allow' && [st.Action].flat().some((a) => VERSION_WRITES.some((w) => covers(a, w))));

  test('the writer check sees wildcards', () => {
    expect(writes({ Statement: [{ Effect: 'Allow', Action: 'iam:*' }] })).toBe(true);
    expect(writes({ Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', '*'] }] })).toBe(true);
    expect(writes({ Statement: [{ Effect: 'Allow', Action: 'iam:Set*Version' }] })).toBe(true);
    expect(writes({ Statement: [{ Effect: 'Allow', Action: ['iam:GetPolicy', 'iam:AttachRolePolicy'] }] })).toBe(false);
    expect(writes({ Statement: [{ Effect: 'Deny', Action: '*' }] })).toBe(false);
  });

  test.each(all.map((s, i) => [i, s] as const))('synthesis %i: the placeholder is the only document CloudFormation knows', (_i, s) => {
    for (const policy of Object.values(resourcesOfType(s, 'AWS::IAM::ManagedPolicy'))) {
      expect(policy.Properties?.PolicyDocument).toEqual(PLACEHOLDER_POLICY_DOCUMENT);
    }
    // No custom resource writes policy versions during a deploy; only the function does, at run time.
    for (const [id, r] of Object.entries(s.json.Resources)) {
      if (!r.Type?.startsWith('Custom::')) continue;
      for (const call of VERSION_WRITES) expect(`${id} ${JSON.stringify(r.Properties)}`).not.toContain(call.replace('iam:', ''));
    }
  });

  test.each(all.map((s, i) => [i, s] as const))('synthesis %i: only the sync function role may write versions', (_i, s) => {
    const writers = new Set<string>();
    for (const r of Object.values(resourcesOfType(s, 'AWS::IAM::Policy'))) {
      if (writes(r.Properties?.PolicyDocument as Doc)) for (const role of r.Properties?.Roles as Array<{ Ref: string }>) writers.add(role.Ref);
    }
    for (const [id, r] of Object.entries(resourcesOfType(s, 'AWS::IAM::Role'))) {
      for (const p of (r.Properties?.Policies ?? []) as Array<{ PolicyDocument: Doc }>) if (writes(p.PolicyDocument)) writers.add(id);
    }
    expect([...writers]).toEqual([logicalId(s, s.stack.sync.role)]);
  });

  test('any change to the function re-runs the deploy-time sync against the new configuration', () => {
    const handlerOf = (s: Synth) => (only(s, 'Custom::Trigger')[1].Properties as { HandlerArn: unknown }).HandlerArn;
    expect(handlerOf(variants[0])).not.toEqual(handlerOf(baseline));
    expect(handlerOf(synth({ dryRun: true }))).not.toEqual(handlerOf(baseline));
  });
});

describe('the placeholder', () => {
  type Statement = { Sid: string; Effect: string; Action: string; Resource: string; Condition: Record<string, Record<string, string>> };
  const [statement] = PLACEHOLDER_POLICY_DOCUMENT.Statement as unknown as Statement[];

  test('is valid IAM grammar: version, alphanumeric Sid, effect, action, resource, known operators', () => {
    expect(PLACEHOLDER_POLICY_DOCUMENT.Version).toBe('2012-10-17');
    expect(PLACEHOLDER_POLICY_DOCUMENT.Statement).toHaveLength(1);
    expect(statement.Sid).toBe(PLACEHOLDER_SID);
    expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
    expect(statement).toMatchObject({ Effect: 'Deny', Action: '*', Resource: '*' });
    expect(Object.keys(statement.Condition).sort()).toEqual(['Null', 'StringLike']);
  });

  test('denies nothing: its condition holds for no request, with or without the key', () => {
    // IAM semantics for the two operators used: Null:"true" holds iff the key is absent;
    // StringLike holds iff the key is present and matches. All entries must hold for a match.
    const holds = (request: Record<string, string>) =>
      Object.entries(statement.Condition).every(([operator, entries]) =>
        Object.entries(entries).every(([key, value]) => {
          const present = key in request;
          if (operator === 'Null') return value === 'true' ? !present : present;
          if (operator === 'StringLike') return present && new RegExp(`^${value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(request[key]);
          throw new Error(`unexpected operator ${operator}`);
        }),
      );
    const requests: Array<Record<string, string>> = [
      {},
      { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/ManagedOpenShift-Support-Role' },
      { 'aws:PrincipalArn': '' },
      { 'aws:SourceIp': '203.0.113.7' },
    ];
    for (const request of requests) expect(holds(request)).toBe(false);
  });
});
