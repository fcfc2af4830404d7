#!/usr/bin/env node
/**
 * CDK app entry (cdk.json "app"): context -> validated props -> one AllowlistSyncStack, checked by
 * cdk-nag's AwsSolutions pack (an unacknowledged finding fails synthesis).
 *
 *   npx cdk deploy -c notifyEmails=sre@example.com -c attachToRoles=ManagedOpenShift-Support-Role
 *   npx cdk deploy -c targets='[{"name":"office-vpn","kind":"trust-policy","roleName":"BreakGlass",...}]'
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AllowlistSyncPropsError } from '../lib/allowlist-sync';
import { AllowlistSyncStack } from '../lib/allowlist-sync-stack';
import { ContextError, parseAppContext } from '../lib/context';

const app = new App();
try {
  // Every key the app was given is judged: an unknown one (a typo) fails, naming the closest valid key.
  const config = parseAppContext(app.node);
  // Env-agnostic on purpose: synthesis needs no AWS credentials and does no lookups.
  new AllowlistSyncStack(app, config.stackName, { sync: config.sync });
} catch (err) {
  // A bad -c value, or a combination the construct refuses (a target on the function's own role,
  // an environment too large for Lambda), is the operator's to fix: say what and why, without a
  // stack trace.
  if (!(err instanceof ContextError) && !(err instanceof AllowlistSyncPropsError)) throw err;
  console.error(`allowlist-sync: ${err.message}`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
