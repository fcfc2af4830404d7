/**
 * globalSetup of the opt-in integration suite: asks the endpoint, before any test is defined, whether it offers
 * what the fleet case needs (CloudFormation StackSets and Organizations), and leaves the answer in
 * INTEG_FLEET_UNSUPPORTED (empty: it does; otherwise why not), so fleet.integ.ts picks `test` or `test.skip`
 * while it is loaded, and a skipped case shows as skipped with its reason, never as a pass.
 */
import { CloudFormationClient, ListStackSetsCommand } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import { OrganizationsError, organizations } from './organizations';

/** Why the endpoint cannot run the fleet case, or undefined when it can. */
export async function fleetUnsupported(region: string): Promise<string | undefined> {
  const cfn = new CloudFormationClient({ region, maxAttempts: 1 });
  const sts = new STSClient({ region, maxAttempts: 1 });
  try {
    await cfn.send(new ListStackSetsCommand({}));
  } catch (err) {
    return `the endpoint has no CloudFormation StackSets (ListStackSets: ${String(err)})`;
  } finally {
    cfn.destroy();
  }
  try {
    await organizations(() => sts.config.credentials())('DescribeOrganization');
  } catch (err) {
    // No organization yet is an Organizations that works: the fleet case makes one on an emulator.
    if (!(err instanceof OrganizationsError && err.code === 'AWSOrganizationsNotInUseException')) return `the endpoint has no Organizations (DescribeOrganization: ${String(err)})`;
  } finally {
    sts.destroy();
  }
  return undefined;
}

export default async function probe(): Promise<void> {
  if (!process.env.AWS_ENDPOINT_URL?.trim()) return;
  const region = process.env.AWS_REGION?.trim() || process.env.AWS_DEFAULT_REGION?.trim() || 'us-east-1';
  process.env.INTEG_FLEET_UNSUPPORTED = (await fleetUnsupported(region)) ?? '';
}
