import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { CfnStackSet } from 'aws-cdk-lib/aws-cloudformation';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { parameterArn, sourcesOf } from './allowlist-target';
import type { CheckedFleet } from './fleet-props';
import { HUB_ROLE_ARN_PARAMETER, spokeTemplate } from './spoke-template';

/**
 * The fleet's hub side: the service-managed StackSet of spoke roles, the sync function's permissions to find the
 * accounts and assume their roles, and the fleet's entry in the function's ALLOWLIST_TARGETS.
 */

/** The fleet's entry in ALLOWLIST_TARGETS: a managed-policy target over every account of the StackSet. */
export interface FleetTargetSpec {
  readonly name: string;
  readonly kind: 'managed-policy';
  readonly policyName: string;
  readonly policyPath: string;
  /** `stackset:NAME`: every account with a stack instance of that StackSet in status CURRENT. */
  readonly accounts: string;
  readonly assumeRoleName: string;
  readonly callAs: CheckedFleet['callAs'];
  readonly excludeAccounts?: string[];
  readonly attachToRoles?: string[];
  readonly reattach?: boolean;
  readonly sources: string[];
  readonly guards?: Record<string, number>;
  readonly conditions?: { viaAwsServiceExemption?: boolean; kmsViaServiceExemption?: boolean; vpcExemption?: string[] };
  readonly include?: string[];
  readonly exclude?: string[];
  readonly dryRun?: boolean;
}

/** The Sids of the sync function's fleet statements. */
export const FLEET_SIDS = { assume: 'AssumeFleetSpokeRoles', list: 'ListFleetStackInstances', delegated: 'CheckFleetDelegatedAdministrator', readCidrs: 'ReadFleetCidrs' } as const;

/** Props of {@link Fleet}. */
export interface FleetConstructProps {
  /** The fleet's settings, validated (checkFleet). */
  readonly fleet: CheckedFleet;
  /** The sync function's role: the one principal the spoke roles trust. */
  readonly role: iam.Role;
}

/** The StackSet of spoke roles and what the hub's function may do with it. */
export class Fleet extends Construct {
  /** The StackSet. */
  public readonly stackSet: CfnStackSet;
  /** The spoke template, as deployed to every account. */
  public readonly template: ReturnType<typeof spokeTemplate>;
  /** What the function is told about the fleet. */
  public readonly spec: FleetTargetSpec;

  constructor(scope: Construct, id: string, props: FleetConstructProps) {
    super(scope, id);
    const f = props.fleet;
    const stack = Stack.of(this);
    this.template = spokeTemplate(f);
    const excluded = f.excludeAccounts.length > 0;
    this.stackSet = new CfnStackSet(this, 'StackSet', {
      stackSetName: f.stackSetName,
      description: `allowlist-sync spoke roles and ${f.policyName} policies, kept by the hub sync function`,
      permissionModel: 'SERVICE_MANAGED',
      callAs: f.callAs,
      // An account that leaves the OUs loses its stack instance: the hub may no longer assume a role there (the
      // spoke role goes), while the policy (DeletionPolicy Retain) stays attached with its last list. Keeping the
      // stacks instead would leave a role trusting the hub in an account that is no longer the fleet's.
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      // One account that cannot take the stack (a missing role to protect, an SCP) must not stop the others;
      // SOFT_FAILURE_TOLERANCE keeps the concurrency up whatever the failures.
      operationPreferences: {
        concurrencyMode: 'SOFT_FAILURE_TOLERANCE',
        failureTolerancePercentage: f.failureTolerancePercentage,
        maxConcurrentPercentage: f.maxConcurrentPercentage,
        regionConcurrencyType: 'PARALLEL',
      },
      stackInstancesGroup: [
        {
          deploymentTargets: {
            organizationalUnitIds: f.organizationalUnitIds,
            ...(excluded ? { accounts: f.excludeAccounts, accountFilterType: 'DIFFERENCE' } : {}),
          },
          // Exactly one region: IAM is global, a second instance would try to create the same role again.
          regions: [f.region ?? stack.region],
        },
      ],
      parameters: [{ parameterKey: HUB_ROLE_ARN_PARAMETER, parameterValue: props.role.roleArn }],
      templateBody: JSON.stringify(this.template, null, 1),
    });
    // The trust policy names the hub role: it must exist (with its permissions) before any spoke role does.
    this.stackSet.node.addDependency(props.role);

    grantFleet(props.role, f);
    if (f.cidrsParameterName) {
      // The hub reads the parameter once per run, with its own credentials, for every account.
      props.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: FLEET_SIDS.readCidrs, actions: ['ssm:GetParameter'], resources: [parameterArn(this, f.cidrsParameterName)] }),
      );
    }
    const conditions = f.conditions && Object.fromEntries(Object.entries(f.conditions).filter(([, c]) => c !== undefined));
    this.spec = {
      name: f.name,
      kind: 'managed-policy',
      policyName: f.policyName,
      policyPath: f.policyPath,
      accounts: `stackset:${f.stackSetName}`,
      assumeRoleName: f.spokeRoleName,
      callAs: f.callAs,
      ...(excluded ? { excludeAccounts: f.excludeAccounts } : {}),
      ...(f.rolesToProtect.length ? { attachToRoles: f.rolesToProtect } : {}),
      ...(f.reattach !== undefined ? { reattach: f.reattach } : {}),
      sources: sourcesOf(f),
      ...(f.guards ? { guards: Object.fromEntries(Object.entries(f.guards).filter(([, g]) => g !== undefined)) as Record<string, number> } : {}),
      ...(conditions && Object.keys(conditions).length ? { conditions } : {}),
      ...(f.include !== undefined ? { include: f.include } : {}),
      ...(f.exclude !== undefined ? { exclude: f.exclude } : {}),
      ...(f.dryRun !== undefined ? { dryRun: f.dryRun } : {}),
    };
  }
}

/**
 * The sync function may assume roles of the spoke role's name only, in its own organization only, and list the
 * instances of this one StackSet; one acknowledgement per cdk-nag finding these raise.
 */
function grantFleet(role: iam.Role, f: CheckedFleet): void {
  const roleResource = `arn:${Aws.PARTITION}:iam::*:role/${f.spokeRoleName}`;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: FLEET_SIDS.assume,
      actions: ['sts:AssumeRole'],
      resources: [roleResource],
      // Without an organization id, the policy variable compares the role's organization with the function's own.
      conditions: { StringEquals: { 'aws:ResourceOrgID': f.organizationId ?? '${aws:PrincipalOrgID}' } },
    }),
  );
  // A delegated administrator's StackSet lives in the management account.
  const owner = f.callAs === 'SELF' ? Aws.ACCOUNT_ID : (f.managementAccountId ?? '*');
  const stackSetArn = `arn:${Aws.PARTITION}:cloudformation:${Aws.REGION}:${owner}:stackset/${f.stackSetName}:*`;
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: FLEET_SIDS.list, actions: ['cloudformation:ListStackInstances'], resources: [stackSetArn] }));
  if (f.callAs === 'DELEGATED_ADMIN') {
    // CloudFormation checks the caller's delegated administrator registration with this call (the StackSets guide
    // asks for it); it takes no resource.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: FLEET_SIDS.delegated, actions: ['organizations:ListDelegatedAdministrators'], resources: ['*'] }));
  }

  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  const acknowledge = (resource: string, reason: string) => Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
  acknowledge(
    `arn:<AWS::Partition>:iam::*:role/${f.spokeRoleName}`,
    `sts:AssumeRole on the fleet's spoke role name (${f.spokeRoleName}) in any account: the accounts are the StackSet's, ` +
      'found at run time, and the condition aws:ResourceOrgID keeps the role within the organization; each spoke role trusts only this role.',
  );
  acknowledge(
    `arn:<AWS::Partition>:cloudformation:<AWS::Region>:${f.callAs === 'SELF' ? '<AWS::AccountId>' : owner}:stackset/${f.stackSetName}:*`,
    `cloudformation:ListStackInstances on the one StackSet ${f.stackSetName}: its ARN ends in an id CloudFormation assigns (NAME:UUID)` +
      (owner === '*' ? ', and a delegated administrator\'s StackSet belongs to the management account, not named here (set fleet.managementAccountId to name it).' : '.'),
  );
  if (f.callAs === 'DELEGATED_ADMIN') {
    acknowledge('*', 'organizations:ListDelegatedAdministrators supports no resource-level permissions; it is read-only, and StackSets calls made as DELEGATED_ADMIN need it.');
  }
}
