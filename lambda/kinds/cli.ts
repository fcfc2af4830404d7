import type { ConditionOptions, Guards } from '../allowlist';
import type { KindName, TargetSpec } from './kind';
import { KINDS, KIND_NAMES } from './registry';

// The CLI's spelling of targets (`iam:ARN`, `iam-trust:ROLE --principal ARN`, `iam-inline:ROLE/POLICY`,
// `file:PATH`), read from the kinds' own prefixes and parsers.

/** Every spelling, for messages. */
export const TARGET_FORMS = 'iam:POLICY_ARN, iam-trust:ROLE, iam-inline:ROLE/POLICY_NAME or file:PATH';

/** What a CLI target takes besides its spelling. */
export interface CliTargetOptions {
  principals: readonly string[];
  sources: string[];
  guards: Partial<Guards>;
  conditions: ConditionOptions;
  /** `--include` / `--exclude` (or INCLUDE_CIDRS / EXCLUDE_CIDRS): the target's subset of its sources. */
  filters?: { include?: string[]; exclude?: string[] };
}

/** The spec of a `--target`, or what is wrong with it. */
export function parseCliTarget(text: string, options: CliTargetOptions): TargetSpec | string {
  const colon = text.indexOf(':');
  const prefix = colon === -1 ? text : text.slice(0, colon);
  const name = KIND_NAMES.find((k) => KINDS[k].prefix === prefix);
  if (!name || colon === -1 || text.slice(colon + 1) === '') return `Unknown target "${text}": expected ${TARGET_FORMS}.`;
  const kind = KINDS[name as KindName];
  const own = kind.parseCli(text.slice(colon + 1), { principals: options.principals });
  if (typeof own === 'string') return own;
  // The kind's own fields plus the common ones make exactly that kind's member of the union.
  return { name: text, kind: kind.kind, sources: options.sources, guards: options.guards, conditions: options.conditions, ...options.filters, ...own } as TargetSpec;
}
