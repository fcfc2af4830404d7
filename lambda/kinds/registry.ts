import { fileKind } from './file';
import { inlinePolicyKind } from './inline-policy';
import type { KindName, SpecOf, TargetKind, TargetSpec } from './kind';
import { managedPolicyKind } from './managed-policy';
import { trustPolicyKind } from './trust-policy';

/**
 * Every target kind, once. Adding a kind is one module and one line here; the compiler refuses a kind of the
 * TargetSpec union that is missing, or a module that lacks a field of TargetKind.
 */
export const KINDS: { readonly [K in KindName]: TargetKind<K> } = {
  'managed-policy': managedPolicyKind,
  'trust-policy': trustPolicyKind,
  'inline-policy': inlinePolicyKind,
  file: fileKind,
};

/** The kinds' names, in registry order. */
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

/** The kinds the function (and the construct) can keep. */
export const DEPLOYABLE_KINDS = KIND_NAMES.filter((k) => KINDS[k].deployable);

/** The kind of a spec, typed to it (for a spec of the whole union, a kind that takes any spec of its own kind). */
export function kindOf<K extends KindName>(spec: SpecOf<K>): TargetKind<K> {
  // `spec.kind` is K, which TypeScript does not see through Extract<>.
  return KINDS[spec.kind as K];
}

/** The one-writer key of any spec. */
export function documentKey(spec: TargetSpec): string {
  return kindOf(spec).documentKey(spec);
}
