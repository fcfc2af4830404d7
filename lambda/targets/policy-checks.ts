import { ContextEntry, EvaluationResult, IAMClient, SimulateCustomPolicyCommand } from '@aws-sdk/client-iam';
import type { AccessAnalyzerClient, PathElement, ValidatePolicyFinding } from '@aws-sdk/client-accessanalyzer';
import type { Refusal } from '../allowlist/guards';
import type { RequestContext } from '../allowlist/evaluate';
import { parsePolicy } from '../allowlist/policy';
import { MAX_SAMPLED_PROBES, SampledProbe, allowlistKeysTestedByValue, sampleProbes } from '../allowlist/proof-sample';
import { SyncError, describeError } from '../errors';
import type { Log, PolicyCheckRequest, PolicyChecksMode, PolicyVerifier } from '../ports';
import { accessAnalyzerModule } from './access-analyzer-client';
import { awsErrorCode } from './iam-client';
import { VerdictCacheOptions, cachedVerifier } from './verdict-cache';

// A second opinion before a write, from the engines AWS itself runs: IAM's policy simulator asked the proof's
// questions (a bounded sample of them), and Access Analyzer's policy validation. Both optional (POLICY_CHECKS): where
// an endpoint does not offer one (a stand-in, a partition without it) it is skipped with one log line per container.
// A disagreement or a finding is a refusal; a check that could not answer is an error. Either way nothing is written.
// A simulation that reports context keys missing (MissingContextValues) is inconclusive, told, not a refusal; a
// finding located only on a statement the tool does not own is told, not refused. Verdicts are kept (verdict-cache.ts).

/** What building the checks needs; the clients are made on first use. */
export interface PolicyChecksOptions {
  mode: PolicyChecksMode;
  iam: () => IAMClient;
  accessAnalyzer: () => AccessAnalyzerClient;
  /** AWS_ENDPOINT_URL (or the service's own variable) is set: an unreachable endpoint there means "not offered". */
  customEndpoint: { iam: boolean; accessAnalyzer: boolean };
  log?: Log;
  /** How long and how many verdicts the shared verifier keeps (defaults: an hour, 100). */
  cache?: VerdictCacheOptions;
}

/** Actions every simulation asks about besides the proof's own: a deny of `*` must decide each of them alike. */
export const SIMULATED_ACTIONS: readonly string[] = ['ec2:DescribeInstances', 'kms:Decrypt'];

/** Pages of one answer followed at most (a simulation of three actions fits one page; findings rarely fill one). */
const MAX_PAGES = 10;

type CheckName = 'simulate' | 'validate';
const TITLE: Record<CheckName, string> = { simulate: 'iam:SimulateCustomPolicy', validate: 'access-analyzer:ValidatePolicy' };

/** Answers that mean the endpoint does not offer the operation (a stand-in, LocalStack, moto): not a verdict on the policy. */
const UNSUPPORTED_CODES = new Set(['UnknownOperation', 'NotImplemented', 'NotImplementedError', 'InvalidAction', 'UnsupportedOperation']);
/** What the SDK calls an error answer that names no AWS error code. */
const UNNAMED_ERRORS = new Set(['UnknownError', 'Unknown', 'SyntaxError']);
/** A connection that never happened. Only at an endpoint someone chose is that "not offered"; at AWS it is a failure. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Findings that only inform; every other type (ERROR, SECURITY_WARNING, one AWS adds later) refuses the write. */
const INFORMATIONAL_FINDINGS = new Set(['WARNING', 'SUGGESTION']);

/** What an error of a check means: the endpoint lacks it, the caller may not use it, or a real failure. */
export type CheckErrorKind = 'unsupported' | 'not-permitted' | 'failure';

function networkCode(err: unknown): string | undefined {
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? code : undefined;
  };
  const errors = typeof err === 'object' && err !== null ? (err as { errors?: unknown }).errors : undefined;
  return codeOf(err) ?? codeOf((err as { cause?: unknown } | null)?.cause) ?? (Array.isArray(errors) ? codeOf(errors[0]) : undefined);
}

/** Classifies an error of a check; `customEndpoint` says the SDK was pointed somewhere other than AWS. */
export function classifyCheckError(err: unknown, customEndpoint: boolean): CheckErrorKind {
  const code = awsErrorCode(err) ?? '';
  const status = typeof err === 'object' && err !== null ? (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode : undefined;
  if (UNSUPPORTED_CODES.has(code) || status === 501) return 'unsupported';
  if (code.startsWith('AccessDenied') || code === 'UnauthorizedOperation') return 'not-permitted';
  // At an endpoint someone chose, a 404 or an answer that names no AWS error (or is not even the protocol's JSON or XML:
  // the SDK's deserializer fails with a SyntaxError) is a server that does not serve this API; AWS names its errors.
  if (customEndpoint && (status === 404 || UNNAMED_ERRORS.has(code))) return 'unsupported';
  // The SDK's XML reader marks what it could not parse with the body it got ($responseBodyText): moto answers an
  // action it lacks with an HTML error page (HTTP 500), which no AWS endpoint sends for an API it serves.
  if (customEndpoint && typeof err === 'object' && err !== null && '$responseBodyText' in err) return 'unsupported';
  const network = networkCode(err);
  if (customEndpoint && network !== undefined && UNREACHABLE_CODES.has(network)) return 'unsupported';
  return 'failure';
}

/** The request's context as IAM's simulator takes it: `aws:ViaAWSService` always, the rest when the probe has them. */
export function contextEntries(request: RequestContext): ContextEntry[] {
  const entry = (name: string, type: ContextEntry['ContextKeyType'], value: string | undefined): ContextEntry[] =>
    value === undefined ? [] : [{ ContextKeyName: name, ContextKeyType: type, ContextKeyValues: [value] }];
  return [
    ...entry('aws:SourceIp', 'ip', request.sourceIp),
    ...entry('aws:ViaAWSService', 'boolean', String(request.viaAwsService)),
    ...entry('aws:SourceVpc', 'string', request.sourceVpc),
    ...entry('aws:SourceVpce', 'string', request.sourceVpce),
    ...entry('kms:ViaService', 'string', request.kmsViaService),
  ];
}

const contextText = (request: RequestContext): string =>
  contextEntries(request)
    .map((e) => `${e.ContextKeyName}=${(e.ContextKeyValues ?? []).join(',')}`)
    .join(', ');

const findingText = (f: ValidatePolicyFinding): string =>
  `${f.findingType ?? 'UNKNOWN'} ${f.issueCode ?? '(no issue code)'}: ${(f.findingDetails ?? '').slice(0, 300)}${f.learnMoreLink ? ` (${f.learnMoreLink})` : ''}`;

/** The real engines' checks of one container: each check's "not offered here" is found, and told, once. */
class AwsPolicyChecks implements PolicyVerifier {
  private readonly skipped = new Map<CheckName | 'trust-simulation', string>();
  /** Issue codes of findings on statements the tool does not own, each told once. */
  private readonly foreignTold = new Set<string>();

  constructor(private readonly options: PolicyChecksOptions) {}

  async verify(request: PolicyCheckRequest): Promise<Refusal | undefined> {
    // Off is an operator's explicit choice (and what offline runs use): no call, no line.
    if (this.options.mode === 'off') return undefined;
    return (await this.run('validate', request, () => this.validate(request))) ?? (await this.simulation(request));
  }

  private async simulation(request: PolicyCheckRequest): Promise<Refusal | undefined> {
    if (request.policyType === 'trust') {
      // SimulateCustomPolicy evaluates a resource policy only for an IAM user as the caller (CallerArn), while a trust
      // policy's deny names roles and accounts: its answer would not be about the principals the deny is for.
      this.tellOnce(
        'trust-simulation',
        `${TITLE.simulate} skipped: simulation does not apply to trust policies (it simulates a resource policy only for an IAM user as caller, not the roles and accounts a trust policy's deny names); trust policies are checked by Access Analyzer's ValidatePolicy and allowlist-sync's own proof only, also under POLICY_CHECKS=required`,
        'info',
      );
      return undefined;
    }
    return this.run('simulate', request, () => this.simulate(request));
  }

  /** Runs one check unless it is known to be skipped here; sorts its errors (see classifyCheckError). */
  private async run(check: CheckName, request: PolicyCheckRequest, body: () => Promise<Refusal | undefined>): Promise<Refusal | undefined> {
    if (this.skipped.has(check)) return undefined;
    try {
      return await body();
    } catch (err) {
      if (err instanceof SyncError) throw err;
      const custom = check === 'simulate' ? this.options.customEndpoint.iam : this.options.customEndpoint.accessAnalyzer;
      const kind = classifyCheckError(err, custom);
      const detail = `${awsErrorCode(err) ?? 'Error'}: ${describeError(err).split('\n')[0].slice(0, 300)}`;
      if (kind === 'failure') {
        throw new SyncError('policy-check-error', `${TITLE[check]} failed for ${request.target} (${detail}).`, 'Nothing was written; the next run tries again.', { cause: err });
      }
      const why = kind === 'unsupported' ? `the endpoint does not offer it (${detail})` : `the function's role may not call it (${detail})`;
      if (this.options.mode === 'required') {
        throw new SyncError(
          'policy-check-unavailable',
          `${TITLE[check]} could not check ${request.target}: ${why}.`,
          `POLICY_CHECKS=required writes nothing unchecked: ${kind === 'unsupported' ? 'use an endpoint that offers it' : `allow ${TITLE[check]} (Resource "*")`}, or set POLICY_CHECKS=auto to go on without it.`,
          { cause: err },
        );
      }
      this.skipped.set(check, why);
      this.tellOnce(check, `${TITLE[check]} skipped from now on in this container: ${why}; POLICY_CHECKS=auto goes on with allowlist-sync's own proof (set POLICY_CHECKS=required to refuse instead)`, 'warn');
      return undefined;
    }
  }

  private tellOnce(key: CheckName | 'trust-simulation', message: string, level: 'info' | 'warn'): void {
    if (key !== 'simulate' && key !== 'validate') {
      if (this.skipped.has(key)) return;
      this.skipped.set(key, message);
    }
    this.options.log?.[level](`policy check: ${message}`, { check: key });
  }

  private async validate(request: PolicyCheckRequest): Promise<Refusal | undefined> {
    const { ValidatePolicyCommand } = accessAnalyzerModule();
    const client = this.options.accessAnalyzer();
    const findings: ValidatePolicyFinding[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await client.send(
        new ValidatePolicyCommand({
          policyDocument: request.document,
          ...(request.policyType === 'trust' ? { policyType: 'RESOURCE_POLICY', validatePolicyResourceType: 'AWS::IAM::AssumeRolePolicyDocument' } : { policyType: 'IDENTITY_POLICY' }),
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      if (!out || !Array.isArray(out.findings)) throw new SyncError('policy-check-error', `${TITLE.validate} answered without a findings list for ${request.target}.`, 'Nothing was written; the next run tries again.');
      findings.push(...out.findings);
      nextToken = out.nextToken || undefined;
      if (!nextToken) break;
    }
    const informational = findings.filter((f) => INFORMATIONAL_FINDINGS.has(f.findingType ?? ''));
    if (informational.length > 0) this.options.log?.warn('policy check: Access Analyzer findings (not refused)', { target: request.target, findings: informational.map(findingText) });
    const blocking = findings.filter((f) => !INFORMATIONAL_FINDINGS.has(f.findingType ?? '') && !this.foreign(request, f));
    if (blocking.length === 0) return undefined;
    const shown = blocking.slice(0, 3).map(findingText).join('; ');
    return {
      code: 'policy-validation-findings',
      approvable: false,
      message: `Access Analyzer's ValidatePolicy finds ${blocking.length} problem${blocking.length === 1 ? '' : 's'} in the rendered policy, so it is not written: ${shown}${blocking.length > 3 ? `; and ${blocking.length - 3} more` : ''}`,
    };
  }

  /** A finding every location of which is a statement other than the tool's own (told once per issue code). */
  private foreign(request: PolicyCheckRequest, finding: ValidatePolicyFinding): boolean {
    const own = request.ownStatement;
    if (own === undefined) return false;
    const statements = (finding.locations ?? []).map((l) => statementIndexOf(l.path));
    // No location, or one on the document as a whole (or not in one statement): it counts.
    if (statements.length === 0 || statements.some((i) => i === undefined || i === own)) return false;
    const code = finding.issueCode ?? '(no issue code)';
    if (!this.foreignTold.has(code)) {
      this.foreignTold.add(code);
      this.options.log?.warn(`policy check: Access Analyzer finding ${code} on a statement allowlist-sync does not own (Statement[${statements.join('], Statement[')}]) is not refused; it is told once per container`, {
        target: request.target,
        finding: findingText(finding),
      });
    }
    return true;
  }

  private async simulate(request: PolicyCheckRequest): Promise<Refusal | undefined> {
    const document = parsePolicy(request.document);
    const probes = sampleProbes(document, request.entries, { action: request.proof.action, viaAwsServiceExemption: request.proof.viaAwsServiceExemption }, MAX_SAMPLED_PROBES);
    const byValue = new Set(allowlistKeysTestedByValue(document));
    const actions = [request.proof.action, ...SIMULATED_ACTIONS.filter((a) => a.toLowerCase() !== request.proof.action.toLowerCase())];
    const client = this.options.iam();
    // One after the other: IAM's rate limit is the account's, and the first disagreement is enough.
    const inconclusive: string[] = [];
    for (const probe of probes) {
      const disagreement = await this.simulateProbe(client, request, probe, actions, byValue, inconclusive);
      if (disagreement) {
        return {
          code: 'policy-simulation-disagrees',
          approvable: false,
          message: `IAM's policy simulator disagrees with the proof of the rendered policy, so it is not written: ${disagreement} (a bug in allowlist-sync or a policy that does not do what it should: report it with the plan)`,
        };
      }
    }
    if (probes.length > 0 && inconclusive.length === probes.length && this.options.mode === 'required') {
      // Nothing was checked at all: under required that is a check that could not run, not a pass.
      throw new SyncError(
        'policy-check-unavailable',
        `${TITLE.simulate} could not check ${request.target}: every one of its ${probes.length} probes was inconclusive (context keys missing: ${inconclusive.slice(0, 3).join('; ')}).`,
        'POLICY_CHECKS=required writes nothing unchecked; set POLICY_CHECKS=auto to go on with allowlist-sync\'s own proof.',
      );
    }
    if (inconclusive.length > 0) {
      this.options.log?.warn(`policy check: ${TITLE.simulate} was inconclusive for ${inconclusive.length} of ${probes.length} probes (context keys missing), not refused: ${inconclusive.slice(0, 3).join('; ')}`, { target: request.target });
    }
    return undefined;
  }

  /** One probe, one call (one request context); the disagreement, or undefined when IAM agrees for every action. */
  private async simulateProbe(client: IAMClient, request: PolicyCheckRequest, probe: SampledProbe, actions: readonly string[], byValue: ReadonlySet<string>, inconclusive: string[]): Promise<string | undefined> {
    const results: EvaluationResult[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await client.send(
        new SimulateCustomPolicyCommand({ PolicyInputList: [request.document], ActionNames: [...actions], ContextEntries: contextEntries(probe.request), ...(marker ? { Marker: marker } : {}) }),
      );
      results.push(...(out?.EvaluationResults ?? []));
      marker = out?.IsTruncated ? out.Marker : undefined;
      if (!marker) break;
    }
    // The simulator lacked a key our statement tests by value: AWS says its answer "might not be reliable". Not a
    // verdict. A key under `...IfExists` or `Null` (the VPC exemption, kms:ViaService) is defined when absent: it counts.
    const missing = [...new Set(results.flatMap((r) => r.MissingContextValues ?? []))].filter((key) => byValue.has(key.toLowerCase()));
    if (missing.length > 0) {
      inconclusive.push(`${probe.subject} (missing ${missing.slice(0, 5).join(', ')})`);
      return undefined;
    }
    for (const action of actions) {
      const decision = results.find((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())?.EvalDecision;
      if (!decision) throw new SyncError('policy-check-error', `${TITLE.simulate} gave no decision for ${action} (${probe.subject}) on ${request.target}.`, 'Nothing was written; the next run tries again.');
      if ((decision === 'explicitDeny') !== (probe.expected === 'denied')) {
        return `${probe.subject} must be ${probe.expected}, and the simulator says ${decision} for ${action} (context ${contextText(probe.request)})`;
      }
    }
    return undefined;
  }
}

/** The statement a finding's location path points into (`Statement[i]...`), or undefined for the document as a whole. */
export function statementIndexOf(path: readonly PathElement[] | undefined): number | undefined {
  const [first, second] = path ?? [];
  if (!first || !('value' in first) || first.value !== 'Statement') return undefined;
  return second && 'index' in second && typeof second.index === 'number' ? second.index : undefined;
}

/** The probe set a request's simulation asks, as text (part of its verdict's key); its inputs when it cannot be sampled. */
function probeSetOf(request: PolicyCheckRequest): string {
  if (request.policyType === 'trust') return '';
  try {
    const probes = sampleProbes(parsePolicy(request.document), request.entries, { action: request.proof.action, viaAwsServiceExemption: request.proof.viaAwsServiceExemption }, MAX_SAMPLED_PROBES);
    return JSON.stringify(probes.map((p) => [p.request, p.expected]));
  } catch {
    // The check itself reports what is wrong (as a policy-check-error); the key only has to be distinct.
    return JSON.stringify(['unsampled', request.entries]);
  }
}

/**
 * The AWS policy checks of one container (or one CLI run): share it between targets, so each skip is told once and
 * a document many targets render alike (a fleet's accounts) is checked once for all of them (verdict-cache.ts).
 */
export function awsPolicyChecks(options: PolicyChecksOptions): PolicyVerifier {
  const checks = new AwsPolicyChecks(options);
  if (options.mode === 'off') return checks;
  return cachedVerifier(checks, { probeKey: probeSetOf, ...options.cache });
}
