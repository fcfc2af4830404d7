#!/usr/bin/env node
/**
 * CDK app entry (cdk.json "app"): context -> validated props -> one AllowlistSyncStack, checked by
 * cdk-nag's AwsSolutions pack (an unacknowledged finding fails synthesis).
 *
 *   npx cdk deploy -c notifyEmails=sre@example.com -c attachToRoles=ManagedOpenShift-Support-Role
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AllowlistSyncStack } from '../lib/allowlist-sync-stack';
import { ContextError, parseContext } from '../lib/context';
import type { AppConfig } from '../lib/context';

const app = new App();
let config: AppConfig;
try {
  config = parseContext((key) => app.node.tryGetContext(key));
} catch (err) {
  // A bad -c value is the operator's to fix: say which key and why, without a stack trace.
  if (!(err instanceof ContextError)) throw err;
  console.error(`allowlist-sync: ${err.message}`);
  process.exit(1);
}
// Env-agnostic on purpose: synthesis needs no AWS credentials and does no lookups.
new AllowlistSyncStack(app, config.stackName, { sync: config.sync });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
