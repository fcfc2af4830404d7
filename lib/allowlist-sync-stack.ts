import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AllowlistSync } from './allowlist-sync';
import type { AllowlistSyncProps } from './allowlist-sync';

/** Props of {@link AllowlistSyncStack}. */
export interface AllowlistSyncStackProps extends StackProps {
  /** Everything the sync construct takes. @default - the construct's defaults */
  readonly sync?: AllowlistSyncProps;
}

/** A stack holding one {@link AllowlistSync} and the outputs an operator needs after deploying it. */
export class AllowlistSyncStack extends Stack {
  /** The construct doing the work. */
  public readonly sync: AllowlistSync;

  constructor(scope: Construct, id: string, props: AllowlistSyncStackProps = {}) {
    super(scope, id, {
      description: 'allowlist-sync: keeps an IP allowlist IAM policy in sync with Red Hat OCM trusted IPs',
      ...props,
    });
    this.sync = new AllowlistSync(this, 'AllowlistSync', props.sync);
    const fn = this.sync.function.functionName;
    const policyArn = this.sync.policyArn;

    new CfnOutput(this, 'PolicyArn', { value: policyArn, description: 'The allowlist managed policy' });
    new CfnOutput(this, 'FunctionName', { value: fn, description: 'The sync function' });
    new CfnOutput(this, 'AlertTopicArn', { value: this.sync.topic.topicArn, description: 'Alerts and alarms go here' });
    new CfnOutput(this, 'RunNowCommand', {
      value: `aws lambda invoke --function-name ${fn} --payload '{}' --cli-binary-format raw-in-base64-out /dev/stdout`,
      description: 'Sync now',
    });
    new CfnOutput(this, 'DryRunCommand', {
      value: `aws lambda invoke --function-name ${fn} --payload '{"dryRun":true}' --cli-binary-format raw-in-base64-out /dev/stdout`,
      description: 'Show what a sync would change, without writing',
    });
    new CfnOutput(this, 'StatusCommand', {
      value: `aws lambda invoke --function-name ${fn} --payload '{"action":"status"}' --cli-binary-format raw-in-base64-out /dev/stdout`,
      description: 'Show the policy in force, its versions, the last sync and the state (also: node bin/allowlist-sync.js status --function FUNCTION)',
    });
    // Break-glass, as the runbook starts: only the AWS CLI needed. `target` names the main allowlist (with several targets, use theirs).
    const event = (fields: Record<string, string>): string => JSON.stringify({ target: this.sync.allowlistName, ...fields });
    new CfnOutput(this, 'PauseCommand', {
      value: `aws lambda invoke --function-name ${fn} --payload '${event({ action: 'pause', reason: 'WHY', by: 'WHO' })}' --cli-binary-format raw-in-base64-out /dev/stdout`,
      description: 'Locked out? Lift the IP restriction now (replace WHY and WHO); scheduled runs write nothing until resume',
    });
    new CfnOutput(this, 'ResumeCommand', {
      value: `aws lambda invoke --function-name ${fn} --payload '${event({ action: 'resume', by: 'WHO' })}' --cli-binary-format raw-in-base64-out /dev/stdout`,
      description: 'End a pause: the allowlist is restored now, through the guards',
    });
    const fleet = this.sync.fleet;
    if (fleet) {
      new CfnOutput(this, 'FleetStackSetName', { value: fleet.stackSet.stackSetName, description: "The fleet's StackSet of spoke roles" });
      new CfnOutput(this, 'FleetAccountsCommand', {
        value: `aws cloudformation list-stack-instances --stack-set-name ${fleet.stackSet.stackSetName} --call-as ${fleet.spec.callAs} --query "Summaries[].[Account,Status,StatusReason]" --output text`,
        description: "The fleet's accounts and their instances' status (the function keeps those CURRENT)",
      });
    }
    for (const target of this.sync.targets) {
      if (!target.policyArn) continue;
      new CfnOutput(this, `Target${target.key}PolicyArn`, { value: target.policyArn, description: `The managed policy of target ${target.targetName}` });
    }
  }
}
