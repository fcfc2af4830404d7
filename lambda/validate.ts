import { formatCidr, parseEntry } from './allowlist/cidr';
import { neverSeenReason } from './allowlist/never-seen';
import { VPC_EXEMPTION_ID } from './allowlist/policy';

/**
 * The one set of rules for names, ARNs and entries, shared by the function's configuration, the target kinds, the
 * CLI, the construct (which names props) and the context parser (which names context keys). Each returns an
 * explanation of what is wrong, or undefined when the value is fine, so the caller can name the offending
 * variable, field, prop or key in its own words. Pure: no I/O, no CDK.
 */

const PARTITION = 'aws(?:-[a-z]+)*';
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d';
const IAM_NAME_CHARS = '[\\w+=,.@-]';

const EMAIL = /^[^\s@,;<>()]+@[^\s@,;<>()]+\.[^\s@,;<>()]+$/;
const POLICY_ARN = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}|aws):policy/(?:${IAM_NAME_CHARS}+/)*${IAM_NAME_CHARS}{1,128}$`);
const TOPIC_ARN = new RegExp(`^arn:${PARTITION}:sns:${REGION}:\\d{12}:[\\w-]{1,256}$`);
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:\\d{12}:key/(?:mrk-)?[0-9a-f-]{32,36}$`);
const PRINCIPAL_ARN = new RegExp(`^arn:${PARTITION}:iam::\\d{12}:(role|user|group)/(?:${IAM_NAME_CHARS}+/)*(${IAM_NAME_CHARS}+)$`);
const ASSUMING_PRINCIPAL_ARN = new RegExp(
  `^arn:${PARTITION}:(?:iam::\\d{12}:(?:root|(?:role|user)/(?:${IAM_NAME_CHARS}+/)*${IAM_NAME_CHARS}{1,64})|sts::\\d{12}:(?:assumed-role|federated-user)/[\\w+=,.@/-]+)$`,
);
const IAM_PATH = new RegExp(`^/(?:${IAM_NAME_CHARS}+/)*$`);
const SSM_PARAMETER_NAME = /^(?:\/[\w.-]+)+$|^[\w.-]+$/;
const METRICS_NAMESPACE = /^[\w.\-/#:]{1,255}$/;

/** Powertools log levels (POWERTOOLS_LOG_LEVEL). */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
/** A Powertools log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Kinds of IAM principal the policy can be attached to. */
export type PrincipalKind = 'role' | 'user' | 'group';

/** The longest name IAM accepts for each principal kind. */
export const MAX_PRINCIPAL_NAME: Record<PrincipalKind, number> = { role: 64, user: 64, group: 128 };

export function checkEmail(value: string): string | undefined {
  return EMAIL.test(value) ? undefined : `"${value}" is not an e-mail address`;
}

export function checkPolicyArn(value: string): string | undefined {
  const m = POLICY_ARN.exec(value);
  if (!m) return `"${value}" is not an IAM policy ARN (arn:aws:iam::123456789012:policy/NAME)`;
  if (m[1] === 'aws') return `"${value}" is an AWS managed policy; only a customer managed policy can be adopted`;
  return undefined;
}

/** A principal a role's trust policy can name: an account root, a role, a user, or an STS session. */
export function checkAssumingPrincipalArn(value: string): string | undefined {
  return ASSUMING_PRINCIPAL_ARN.test(value)
    ? undefined
    : `"${value}" is not an IAM principal ARN (arn:aws:iam::123456789012:role/NAME, :user/NAME, :root, or arn:aws:sts::123456789012:assumed-role/ROLE/SESSION)`;
}

export function checkTopicArn(value: string): string | undefined {
  return TOPIC_ARN.test(value) ? undefined : `"${value}" is not an SNS topic ARN (arn:aws:sns:REGION:123456789012:NAME)`;
}

export function checkKmsKeyArn(value: string): string | undefined {
  return KMS_KEY_ARN.test(value)
    ? undefined
    : `"${value}" is not a KMS key ARN (arn:aws:kms:REGION:123456789012:key/ID; an alias will not do in an IAM policy)`;
}

export function checkIamPath(value: string): string | undefined {
  return IAM_PATH.test(value) && value.length <= 512 ? undefined : `"${value}" is not an IAM path (e.g. / or /allowlists/)`;
}

export function checkPolicyName(value: string): string | undefined {
  return new RegExp(`^${IAM_NAME_CHARS}{1,128}$`).test(value)
    ? undefined
    : `"${value}" is not a valid IAM policy name (1-128 of A-Z a-z 0-9 +=,.@_-)`;
}

export function checkParameterName(value: string): string | undefined {
  if (!SSM_PARAMETER_NAME.test(value) || value.length > 1011) {
    return `"${value}" is not an SSM parameter name (e.g. /allowlist-sync/ocm-credentials)`;
  }
  if (/^\/?(aws|ssm)/i.test(value)) return `"${value}" starts with "aws" or "ssm", which SSM reserves`;
  return undefined;
}

export function checkHttpsUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  return url.protocol === 'https:' ? undefined : `"${value}" must be an https:// URL`;
}

/**
 * An allowlist entry, read by the same parser as the sync (IPv4 with an optional prefix, IPv6 with a mandatory one
 * here, where a bare IPv6 address is more likely a slip), and refused when `aws:SourceIp` could never match it.
 */
export function checkCidr(value: string): string | undefined {
  const parsed = parseEntry(value);
  if (!parsed.ok) return `"${value}" is not a CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32): ${parsed.reason}`;
  if (parsed.cidr.family === 6 && !value.includes('/') && !value.toLowerCase().startsWith('::ffff:')) {
    return `"${value}": an IPv6 address needs a prefix length (e.g. ${value}/128)`;
  }
  const never = neverSeenReason(parsed.cidr);
  if (never) return `"${value}" (${formatCidr(parsed.cidr)}) is ${never}: aws:SourceIp never sees it`;
  return undefined;
}

/** A CIDR for an include / exclude filter: any valid block (a filter allows nothing by itself). */
export function checkFilterCidr(value: string): string | undefined {
  const parsed = parseEntry(value);
  return parsed.ok ? undefined : `"${value}" is not a CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32): ${parsed.reason}`;
}

/** A VPC id (`vpc-0abc...`) or VPC endpoint id (`vpce-0abc...`) for the VPC exemption. */
export function checkVpcExemptionId(value: string): string | undefined {
  return VPC_EXEMPTION_ID.test(value) ? undefined : `"${value}" is not a VPC id (vpc-0123456789abcdef0) or VPC endpoint id (vpce-0123456789abcdef0)`;
}

/**
 * The partition of a region (`aws`, `aws-cn`, `aws-us-gov`, the ISO ones): what a role or policy ARN in another
 * account of the same partition starts with. Unset or unknown regions are the commercial partition.
 */
export function partitionOf(region: string | undefined): string {
  const r = region?.trim().toLowerCase() ?? '';
  if (r.startsWith('cn-')) return 'aws-cn';
  if (r.startsWith('us-gov-')) return 'aws-us-gov';
  if (r.startsWith('us-isob-')) return 'aws-iso-b';
  if (r.startsWith('us-iso-')) return 'aws-iso';
  if (r.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (r.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

/** A target (or allowlist) name: alert subjects, metrics dimension, state keys. */
export const TARGET_NAME = /^[\w.-]{1,64}$/;

/** An IAM role name (not an ARN). */
export function checkRoleName(value: string): string | undefined {
  return new RegExp(`^${IAM_NAME_CHARS}{1,64}$`).test(value) ? undefined : `"${value}" is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)`;
}

export function checkMetricsNamespace(value: string): string | undefined {
  return METRICS_NAMESPACE.test(value) && !value.startsWith('AWS/')
    ? undefined
    : `"${value}" is not a usable CloudWatch namespace (1-255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/)`;
}

export function checkAllowlistName(value: string): string | undefined {
  return TARGET_NAME.test(value) ? undefined : `"${value}" must be 1-64 of A-Z a-z 0-9 . _ -`;
}

export function checkLogLevel(value: string): string | undefined {
  return (LOG_LEVELS as readonly string[]).includes(value) ? undefined : `"${value}" is not one of ${LOG_LEVELS.join(', ')}`;
}

export function checkNumber(value: number, min: number, max: number, integer: boolean): string | undefined {
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    return `${value} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  }
  return undefined;
}

/** A principal named by the user: a plain name, or an ARN (needed when it has an IAM path). */
export interface PrincipalRef {
  /** The principal's name, as the Attach*Policy APIs want it. */
  readonly name: string;
  /** The ARN given, when one was given (it carries the path). */
  readonly arn?: string;
}

/** Parses a role/user/group given as a name or ARN; returns an error string when it is neither. */
export function parsePrincipal(kind: PrincipalKind, value: string): PrincipalRef | string {
  const m = PRINCIPAL_ARN.exec(value);
  if (m) {
    if (m[1] !== kind) return `"${value}" is an IAM ${m[1]} ARN, not a ${kind}`;
    return { name: m[2], arn: value };
  }
  if (value.startsWith('arn:')) return `"${value}" is not an IAM ${kind} ARN`;
  const max = MAX_PRINCIPAL_NAME[kind];
  if (!new RegExp(`^${IAM_NAME_CHARS}{1,${max}}$`).test(value)) {
    return `"${value}" is not an IAM ${kind} name (1-${max} of A-Z a-z 0-9 +=,.@_-) or ${kind} ARN`;
  }
  return { name: value };
}

/** The candidate closest to `name` (by edit distance, case ignored), when it is plausibly what was meant. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const kept = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = kept;
      }
    }
    return row[b.length];
  };
  let best: { name: string; d: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || d < best.d) best = { name: candidate, d };
  }
  // Up to a third of the name's length (rounded up: minEntry -> minEntries), never fewer than 2.
  return best && best.d <= Math.max(2, Math.ceil(name.length / 3)) ? best.name : undefined;
}

/** A value as an error message shows it: JSON, clipped (a field's wrong value, never a secret's). */
export function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** `"X" is not a field (did you mean Y?)`, or the list of known fields when nothing is close. */
export function unknownField(name: string, known: readonly string[], what: string): string {
  const like = closest(name, known);
  return `is not ${what}${like ? ` (did you mean ${like}?)` : ` (known: ${known.join(', ')})`}`;
}
