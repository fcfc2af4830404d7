import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { AllowlistSyncProps } from '../../lib/allowlist-sync';
import { AllowlistSyncStack } from '../../lib/allowlist-sync-stack';

/** A synthesized stack for assertions. */
export interface Synth {
  readonly app: App;
  readonly stack: AllowlistSyncStack;
  readonly template: Template;
  /** The template as plain JSON. */
  readonly json: { Resources: Record<string, CfnJson>; Outputs: Record<string, CfnJson> };
}

/** A resource or output in template JSON. */
export type CfnJson = { Type?: string; Properties?: Record<string, unknown>; [key: string]: unknown };

/** Synthesizes an AllowlistSyncStack without bundling (fast, offline). */
export function synth(props: AllowlistSyncProps = {}, id = 'AllowlistSync'): Synth {
  // Skipping bundling keeps unit tests fast; one real synth (npx cdk synth) exercises esbuild.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new AllowlistSyncStack(app, id, { sync: props });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as Synth['json'] };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(s: Synth, type: string): Record<string, CfnJson> {
  return Object.fromEntries(Object.entries(s.json.Resources).filter(([, r]) => r.Type === type));
}

/** The single resource of a type (fails when there is not exactly one). */
export function only(s: Synth, type: string): [string, CfnJson] {
  const all = Object.entries(resourcesOfType(s, type));
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}

/** Logical id of a construct's CfnResource. */
export function logicalId(s: Synth, construct: IConstruct): string {
  const cfn = construct instanceof CfnResource ? construct : (construct.node.defaultChild as CfnResource);
  return s.stack.resolve(cfn.logicalId) as string;
}

/** Every acknowledgement recorded under a scope: construct path, rule id, reason. */
export function acknowledgements(scope: IConstruct): Array<{ path: string; id: string; reason: unknown }> {
  const out: Array<{ path: string; id: string; reason: unknown }> = [];
  for (const node of scope.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [qualified, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        out.push({ path: node.node.path, id: qualified.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}
