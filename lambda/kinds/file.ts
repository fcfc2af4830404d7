import { resolve } from 'node:path';
import { MANAGED_POLICY_SIZE_LIMIT, managedPolicyShape } from '../allowlist';
import { fileTarget } from '../targets/file';
import { stringField } from './fields';
import type { TargetKind } from './kind';

/** A policy document in a local file, written atomically: the CLI's and the offline demo's target. */
export const fileKind: TargetKind<'file'> = {
  kind: 'file',
  title: 'policy file',
  // A file on the function's disk would vanish with its container.
  deployable: false,
  fields: ['path'],
  validate: (raw, fail) => ({ path: stringField(raw, 'path', fail, (p) => (p.trim() === '' ? 'must be a file path' : undefined)) }),
  documentKey: (spec) => `file:${resolve(spec.path)}`,
  sizeLimit: { default: MANAGED_POLICY_SIZE_LIMIT, max: MANAGED_POLICY_SIZE_LIMIT },
  actions: { read: [], write: [] },
  prefix: 'file',
  parseCli: (argument) => (argument === '' ? 'expected file:PATH' : { path: argument }),
  formatCli: (spec) => `file:${spec.path}`,
  shape: (spec) => managedPolicyShape(spec.conditions ?? {}),
  target: (spec) => fileTarget(spec.path),
  resource: (spec) => `file ${spec.path}`,
};
