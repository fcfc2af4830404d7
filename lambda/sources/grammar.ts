import { splitList } from './static';

// The one grammar of sources: parsed, validated and formatted here, for ALLOWLIST_TARGETS, the CLI's --source and
// the construct alike. What each becomes (a Source) is the composition root's business.

/** A source, parsed. */
export type SourceSpec =
  | { kind: 'ocm' }
  | { kind: 'static'; entries: string[] }
  | { kind: 'ssm'; parameterName: string }
  | { kind: 'file'; path: string };

/** Every spelling, for messages. */
export const SOURCE_FORMS = 'ocm, static:CIDR,CIDR..., ssm:PARAMETER_NAME or file:PATH';

const SSM_NAME = /^[\w.\-/]+$/;

/** Parses `ocm`, `static:LIST`, `ssm:NAME` or `file:PATH`; a string says what is wrong. */
export function parseSource(text: string): SourceSpec | string {
  const colon = text.indexOf(':');
  const [kind, argument] = colon === -1 ? [text, ''] : [text.slice(0, colon), text.slice(colon + 1)];
  if (kind === 'ocm' && colon === -1) return { kind: 'ocm' };
  if (kind === 'static' && splitList(argument).length > 0) return { kind: 'static', entries: splitList(argument) };
  if (kind === 'ssm' && SSM_NAME.test(argument)) return { kind: 'ssm', parameterName: argument };
  if (kind === 'file' && argument !== '') return { kind: 'file', path: argument };
  return `"${text}" is not a source: expected ${SOURCE_FORMS}`;
}

/** The spelling of a source (the inverse of parseSource). */
export function formatSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'ocm':
      return 'ocm';
    case 'static':
      return `static:${spec.entries.join(',')}`;
    case 'ssm':
      return `ssm:${spec.parameterName}`;
    case 'file':
      return `file:${spec.path}`;
  }
}

/** The sources of a deployed target: a file is the CLI's only (the function's disk does not outlive its container). */
export function isDeployableSource(spec: SourceSpec): boolean {
  return spec.kind !== 'file';
}
