import {
  AccessAnalyzerClient,
  AccessAnalyzerServiceException,
  AccessDeniedException,
  ThrottlingException,
  ValidatePolicyCommand,
  type ValidatePolicyFinding,
} from '@aws-sdk/client-accessanalyzer';
import { IAMClient, IAMServiceException, SimulateCustomPolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { RequestContext } from '../../lambda/allowlist/evaluate';
import { ANY_ACTION_PROBE } from '../../lambda/allowlist/plan';
import { renderDenyPolicy, serializePolicy } from '../../lambda/allowlist/policy';
import { renderTrustStatement } from '../../lambda/allowlist/trust-policy';
import { SyncError } from '../../lambda/errors';
import type { Log, PolicyCheckRequest, PolicyChecksMode } from '../../lambda/ports';
import { awsPolicyChecks, classifyCheckError, contextEntries } from '../../lambda/targets/policy-checks';
import { simulatorAgrees as agrees } from '../helpers/fake-policy-engines';

const iamMock = mockClient(IAMClient);
const aaMock = mockClient(AccessAnalyzerClient);
const iam = new IAMClient({ region: 'us-east-1' });
const analyzer = new AccessAnalyzerClient({ region: 'us-east-1' });

const ENTRIES = ['192.0.2.0/24', '203.0.113.7/32', '2001:db8:1::/48'];
const managed = (entries: readonly string[] = ENTRIES, conditions = {}): PolicyCheckRequest => ({
  target: 'iam:arn:aws:iam::123456789012:policy/rosa',
  policyType: 'identity',
  document: serializePolicy(renderDenyPolicy(entries, conditions)),
  entries,
  proof: { action: ANY_ACTION_PROBE, viaAwsServiceExemption: true },
});
const TRUST: PolicyCheckRequest = {
  target: 'iam-trust:BreakGlass',
  policyType: 'trust',
  document: JSON.stringify({ Version: '2012-10-17', Statement: [renderTrustStatement(['arn:aws:iam::123456789012:root'], ENTRIES)] }),
  entries: ENTRIES,
  proof: { action: 'sts:AssumeRole', viaAwsServiceExemption: true },
};

function recordingLog(): Log & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  return { lines, info: (message) => lines.push({ level: 'info', message }), warn: (message) => lines.push({ level: 'warn', message }) };
}

const simulatorAgrees = (twist?: (request: RequestContext, decision: string) => string) => agrees(iamMock, twist);

const findings = (...list: Partial<ValidatePolicyFinding>[]): { findings: ValidatePolicyFinding[] } => ({
  findings: list.map((f): ValidatePolicyFinding => ({ findingDetails: 'details', learnMoreLink: 'https://docs.aws.amazon.com/x', locations: [], issueCode: 'CODE', findingType: 'ERROR', ...f })),
});
const iamError = (name: string, status: number, message = `${name} here`) => new IAMServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message });
const aaError = (name: string, status: number) => new AccessAnalyzerServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: `${name} here` });

function checks(mode: PolicyChecksMode = 'auto', log: Log = recordingLog(), customEndpoint = { iam: false, accessAnalyzer: false }) {
  return awsPolicyChecks({ mode, iam: () => iam, accessAnalyzer: () => analyzer, customEndpoint, log });
}

beforeEach(() => {
  iamMock.reset();
  aaMock.reset();
});

describe('supported and agreeing', () => {
  test('validates once as an identity policy and simulates the sample, one call per probe context; no refusal', async () => {
    simulatorAgrees();
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const request = managed();
    await expect(checks().verify(request)).resolves.toBeUndefined();

    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 1);
    expect(aaMock).toHaveReceivedCommandWith(ValidatePolicyCommand, { policyDocument: request.document, policyType: 'IDENTITY_POLICY' });
    const calls = iamMock.commandCalls(SimulateCustomPolicyCommand).map((c) => c.args[0].input);
    expect(calls.length).toBeGreaterThanOrEqual(8);
    expect(calls.length).toBeLessThanOrEqual(12);
    for (const input of calls) {
      expect(input.PolicyInputList).toEqual([request.document]);
      expect(input.ActionNames).toEqual([ANY_ACTION_PROBE, 'ec2:DescribeInstances', 'kms:Decrypt']);
    }
    const contexts = calls.map((c) => JSON.stringify(c.ContextEntries));
    expect(new Set(contexts).size).toBe(calls.length); // no probe asked twice
    const ips = calls.map((c) => c.ContextEntries!.find((e) => e.ContextKeyName === 'aws:SourceIp')?.ContextKeyValues?.[0]);
    // Outside addresses (direct, then via an AWS service), then each entry's first or last address with its neighbour
    // just outside. Never a request without aws:SourceIp: IAM's answer for a missing key is not documented.
    expect(ips).toEqual([
      '198.51.100.1',
      '198.51.100.1',
      '2001:db8::1',
      '2001:db8::1',
      '192.0.2.0',
      '192.0.1.255',
      '203.0.113.7',
      '203.0.113.8',
      '2001:db8:1::',
      '2001:db8:0:ffff:ffff:ffff:ffff:ffff',
    ]);
  });

  test.each([
    ['by default', {}],
    ['with the VPC exemption', { vpcExemption: ['vpc-0123456789abcdef0', 'vpce-0123456789abcdef0'] }],
  ])('%s: a simulator that reads a missing aws:SourceIp as not matching refuses nothing, as no probe lacks it', async (_, conditions) => {
    // The undocumented case: NotIpAddress on a missing key judged false, so a request without aws:SourceIp not denied.
    simulatorAgrees((request, decision) => (request.sourceIp === undefined ? 'implicitDeny' : decision));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks().verify(managed(ENTRIES, conditions))).resolves.toBeUndefined();
    const calls = iamMock.commandCalls(SimulateCustomPolicyCommand);
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.args[0].input.ContextEntries!.map((e) => e.ContextKeyName)).toContain('aws:SourceIp');
  });

  test('MissingContextValues in an answer: that probe is inconclusive, one log line, not a refusal', async () => {
    // The simulator lacks a key for the outside address and, lacking it, disagrees: neither counts.
    const outside = (request: RequestContext) => request.sourceIp === '198.51.100.1' && !request.viaAwsService;
    agrees(iamMock, (request, decision) => (outside(request) ? 'implicitDeny' : decision), (request) => (outside(request) ? ['aws:SourceIp'] : []));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const log = recordingLog();
    await expect(checks('required', log).verify(managed())).resolves.toBeUndefined();
    expect(iamMock.commandCalls(SimulateCustomPolicyCommand).length).toBeGreaterThan(1); // the others still asked
    expect(log.lines).toEqual([
      { level: 'warn', message: expect.stringMatching(/^policy check: iam:SimulateCustomPolicy was inconclusive for 1 of \d+ probes \(context keys missing\), not refused: 198\.51\.100\.1, an address in no entry \(missing aws:SourceIp\)$/) },
    ]);
  });

  test('every probe inconclusive: under required nothing was checked, so it fails; under auto one line', async () => {
    agrees(iamMock, (_request, decision) => decision, () => ['aws:SourceIp']);
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks('required').verify(managed())).rejects.toMatchObject({ code: 'policy-check-unavailable', message: expect.stringMatching(/every one of its \d+ probes was inconclusive/) });
    const log = recordingLog();
    await expect(checks('auto', log).verify(managed())).resolves.toBeUndefined();
    expect(log.lines).toEqual([{ level: 'warn', message: expect.stringMatching(/was inconclusive for (\d+) of \1 probes/) }]);
  });

  test('a missing key the statement does not test by value (aws:SourceVpc under ...IfExists) leaves the answer conclusive', async () => {
    const outside = (request: RequestContext) => request.sourceIp === '198.51.100.1' && !request.viaAwsService;
    agrees(iamMock, (request, decision) => (outside(request) ? 'implicitDeny' : decision), () => ['aws:SourceVpc', 'aws:SourceVpce']);
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks('required').verify(managed(ENTRIES, { vpcExemption: ['vpc-0123456789abcdef0'] }))).resolves.toMatchObject({ code: 'policy-simulation-disagrees' });
  });

  test('a disagreement on a probe IAM had every key for still refuses, whatever others lacked', async () => {
    agrees(iamMock, (request, decision) => (request.sourceIp === '192.0.2.0' ? 'explicitDeny' : decision), (request) => (request.viaAwsService ? ['kms:ViaService'] : []));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks().verify(managed())).resolves.toMatchObject({ code: 'policy-simulation-disagrees' });
  });

  test('findings over several pages are all read', async () => {
    simulatorAgrees();
    aaMock
      .on(ValidatePolicyCommand)
      .resolvesOnce({ ...findings({ findingType: 'SUGGESTION', issueCode: 'A' }), nextToken: 'page-2' })
      .resolvesOnce(findings({ findingType: 'SECURITY_WARNING', issueCode: 'PASS_ROLE_WITH_STAR_IN_RESOURCE' }));
    const refusal = await checks().verify(managed());
    expect(aaMock.commandCalls(ValidatePolicyCommand)[1].args[0].input).toMatchObject({ nextToken: 'page-2' });
    expect(refusal?.message).toContain('SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_RESOURCE');
  });

  test('a 500-entry list: still at most 12 simulations, spread from the first entry to the last', async () => {
    const entries = Array.from({ length: 500 }, (_, i) => `${20 + Math.floor(i / 250)}.${i % 250}.0.0/24`);
    simulatorAgrees();
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks().verify(managed(entries))).resolves.toBeUndefined();
    const ips = iamMock.commandCalls(SimulateCustomPolicyCommand).map((c) => c.args[0].input.ContextEntries!.find((e) => e.ContextKeyName === 'aws:SourceIp')?.ContextKeyValues?.[0]);
    expect(ips.length).toBe(12);
    expect(ips).toContain('20.0.0.0'); // the first entry's first address
    expect(ips).toContain('21.249.0.255'); // the last entry's last address
  });
});

describe('the simulator disagreeing', () => {
  test('an outside address it does not deny: refused, not approvable, the probe and IAM\'s answer named', async () => {
    simulatorAgrees((request, decision) => (request.sourceIp === '198.51.100.1' && !request.viaAwsService ? 'implicitDeny' : decision));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const refusal = await checks().verify(managed());
    expect(refusal).toMatchObject({ code: 'policy-simulation-disagrees', approvable: false });
    expect(refusal?.message).toContain('198.51.100.1, an address in no entry must be denied, and the simulator says implicitDeny for s3:ListAllMyBuckets');
    expect(refusal?.message).toContain('context aws:SourceIp=198.51.100.1, aws:ViaAWSService=false');
    // The first disagreement is enough: nothing after it is asked.
    const asked = iamMock.commandCalls(SimulateCustomPolicyCommand).length;
    expect(asked).toBe(1);
  });

  test('an entry\'s address it denies: refused, naming the entry', async () => {
    simulatorAgrees((request, decision) => (request.sourceIp === '192.0.2.0' ? 'explicitDeny' : decision));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const refusal = await checks().verify(managed());
    expect(refusal?.message).toContain('192.0.2.0, the first address of 192.0.2.0/24 must be not denied, and the simulator says explicitDeny');
  });

  test('one action out of three decided otherwise is a disagreement too', async () => {
    simulatorAgrees((request, decision) => (request.action === 'kms:Decrypt' && request.viaAwsService ? 'explicitDeny' : decision));
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const refusal = await checks().verify(managed());
    expect(refusal?.message).toMatch(/aws:ViaAWSService true.*must be not denied, and the simulator says explicitDeny for kms:Decrypt/);
  });

  test('an answer without a decision for an action asked is an error, never a pass', async () => {
    iamMock.on(SimulateCustomPolicyCommand).resolves({ EvaluationResults: [{ EvalActionName: ANY_ACTION_PROBE, EvalResourceName: '*', EvalDecision: 'explicitDeny' }] });
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    await expect(checks().verify(managed())).rejects.toMatchObject({ code: 'policy-check-error', message: expect.stringContaining('gave no decision for ec2:DescribeInstances') });
  });
});

describe('Access Analyzer findings', () => {
  beforeEach(() => simulatorAgrees());

  test.each(['ERROR', 'SECURITY_WARNING'] as const)('%s refuses the write, naming the code and details', async (findingType) => {
    aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType, issueCode: 'MISSING_VERSION', findingDetails: 'We recommend that you specify the Version element' }));
    const refusal = await checks().verify(managed());
    expect(refusal).toEqual({
      code: 'policy-validation-findings',
      approvable: false,
      message: `Access Analyzer's ValidatePolicy finds 1 problem in the rendered policy, so it is not written: ${findingType} MISSING_VERSION: We recommend that you specify the Version element (https://docs.aws.amazon.com/x)`,
    });
    // Refused on the first opinion: the simulator is not asked.
    expect(iamMock).not.toHaveReceivedCommand(SimulateCustomPolicyCommand);
  });

  test('WARNING and SUGGESTION are logged, not refused', async () => {
    aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType: 'WARNING', issueCode: 'W1' }, { findingType: 'SUGGESTION', issueCode: 'S1' }));
    const log = recordingLog();
    await expect(checks('auto', log).verify(managed())).resolves.toBeUndefined();
    expect(log.lines).toEqual([{ level: 'warn', message: 'policy check: Access Analyzer findings (not refused)' }]);
    expect(iamMock).toHaveReceivedCommand(SimulateCustomPolicyCommand);
  });

  test('a finding type it does not know refuses (AWS may add one); many are counted', async () => {
    aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType: 'CRITICAL' as never }, { issueCode: 'B' }, { issueCode: 'C' }, { issueCode: 'D' }));
    const refusal = await checks().verify(managed());
    expect(refusal?.message).toContain('finds 4 problems');
    expect(refusal?.message).toContain('CRITICAL CODE');
    expect(refusal?.message).toContain('; and 1 more');
  });

  test('an answer without a findings list is an error', async () => {
    aaMock.on(ValidatePolicyCommand).resolves({} as never);
    await expect(checks().verify(managed())).rejects.toMatchObject({ code: 'policy-check-error' });
  });
});

describe('trust policies', () => {
  test('validated as a role trust policy; never simulated; the reason told once for many runs', async () => {
    aaMock.on(ValidatePolicyCommand).resolves({ findings: [] });
    const log = recordingLog();
    const verifier = checks('required', log);
    const other = { ...TRUST, entries: ['192.0.2.0/24'], document: JSON.stringify({ Version: '2012-10-17', Statement: [renderTrustStatement(['arn:aws:iam::123456789012:root'], ['192.0.2.0/24'])] }) };
    for (let run = 0; run < 3; run++) {
      await expect(verifier.verify(TRUST)).resolves.toBeUndefined();
      await expect(verifier.verify(other)).resolves.toBeUndefined();
    }
    expect(aaMock).toHaveReceivedCommandWith(ValidatePolicyCommand, {
      policyDocument: TRUST.document,
      policyType: 'RESOURCE_POLICY',
      validatePolicyResourceType: 'AWS::IAM::AssumeRolePolicyDocument',
    });
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 2); // each document once: the verdict is kept
    expect(iamMock).not.toHaveReceivedCommand(SimulateCustomPolicyCommand);
    expect(log.lines).toEqual([{ level: 'info', message: expect.stringContaining('simulation does not apply to trust policies') }]);
    expect(log.lines[0].message).toContain('also under POLICY_CHECKS=required');
  });

  describe('findings on statements the tool does not own', () => {
    // A role's trust policy: someone's Allow first, ours second.
    const FOREIGN = { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' };
    const trust = (entries: readonly string[]): PolicyCheckRequest => ({
      ...TRUST,
      entries,
      document: JSON.stringify({ Version: '2012-10-17', Statement: [FOREIGN, renderTrustStatement(['arn:aws:iam::123456789012:root'], entries)] }),
      ownStatement: 1,
    });
    const at = (...path: ({ value: string } | { index: number })[]) => [{ path, span: { start: { line: 0, column: 0, offset: 0 }, end: { line: 0, column: 0, offset: 0 } } }];

    test('a SECURITY_WARNING located only on a foreign statement: written, told once per container per finding code', async () => {
      aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType: 'SECURITY_WARNING', issueCode: 'TRUST_ANYONE', locations: at({ value: 'Statement' }, { index: 0 }, { value: 'Principal' }) }));
      const log = recordingLog();
      const verifier = checks('auto', log);
      await expect(verifier.verify(trust(ENTRIES))).resolves.toBeUndefined();
      await expect(verifier.verify(trust(['192.0.2.0/24']))).resolves.toBeUndefined();
      expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 2);
      const told = log.lines.filter((l) => l.message.includes('TRUST_ANYONE'));
      expect(told).toEqual([{ level: 'warn', message: expect.stringContaining('finding TRUST_ANYONE on a statement allowlist-sync does not own (Statement[0]) is not refused') }]);
    });

    test.each([
      ['on our statement', at({ value: 'Statement' }, { index: 1 }, { value: 'Condition' })],
      ['with no location', []],
      ['on the document as a whole', at()],
      ['on the Version', at({ value: 'Version' })],
    ])('one %s still refuses', async (_, locations) => {
      aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType: 'SECURITY_WARNING', issueCode: 'OURS', locations }));
      await expect(checks().verify(trust(ENTRIES))).resolves.toMatchObject({ code: 'policy-validation-findings', message: expect.stringContaining('SECURITY_WARNING OURS') });
    });

    test('without ownStatement (the tool owns the whole document) every finding counts', async () => {
      simulatorAgrees();
      aaMock.on(ValidatePolicyCommand).resolves(findings({ findingType: 'ERROR', issueCode: 'X', locations: at({ value: 'Statement' }, { index: 3 }) }));
      await expect(checks().verify(managed())).resolves.toMatchObject({ code: 'policy-validation-findings' });
    });
  });
});

describe('an endpoint without the checks', () => {
  test('auto: each check skipped with one line for the container, however many runs and targets; later runs make no calls', async () => {
    iamMock.on(SimulateCustomPolicyCommand).rejects(iamError('InvalidAction', 400, 'Could not find operation SimulateCustomPolicy'));
    aaMock.on(ValidatePolicyCommand).rejects(aaError('UnknownOperationException', 404));
    const log = recordingLog();
    const verifier = checks('auto', log, { iam: true, accessAnalyzer: true });
    for (let run = 0; run < 5; run++) {
      await expect(verifier.verify(managed())).resolves.toBeUndefined();
      await expect(verifier.verify({ ...managed(), target: 'iam-inline:Role/other' })).resolves.toBeUndefined();
    }
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
    expect(log.lines[0].message).toContain('access-analyzer:ValidatePolicy skipped from now on in this container: the endpoint does not offer it (UnknownOperation');
    expect(log.lines[1].message).toContain('iam:SimulateCustomPolicy skipped from now on in this container: the endpoint does not offer it (InvalidAction: Could not find operation');
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 1);
    expect(iamMock).toHaveReceivedCommandTimes(SimulateCustomPolicyCommand, 1);
  });

  test('required: unsupported fails the run, every run, naming the check and what to do', async () => {
    simulatorAgrees();
    aaMock.on(ValidatePolicyCommand).rejects(aaError('NotImplemented', 501));
    const verifier = checks('required');
    for (let run = 0; run < 2; run++) {
      const err = await verifier.verify(managed()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncError);
      expect(err).toMatchObject({ code: 'policy-check-unavailable' });
      expect((err as Error).message).toContain('access-analyzer:ValidatePolicy could not check iam:arn:aws:iam::123456789012:policy/rosa: the endpoint does not offer it (NotImplemented');
      expect((err as Error).message).toContain('POLICY_CHECKS=required writes nothing unchecked');
    }
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 2);
  });

  test('AccessDenied: skipped with its line under auto; a failure under required', async () => {
    simulatorAgrees();
    aaMock.on(ValidatePolicyCommand).rejects(new AccessDeniedException({ $metadata: { httpStatusCode: 403 }, message: 'not authorized to perform: access-analyzer:ValidatePolicy' }));
    const log = recordingLog();
    await expect(checks('auto', log).verify(managed())).resolves.toBeUndefined();
    expect(log.lines[0].message).toContain("the function's role may not call it (AccessDenied");
    await expect(checks('required').verify(managed())).rejects.toMatchObject({ code: 'policy-check-unavailable', message: expect.stringContaining('allow access-analyzer:ValidatePolicy (Resource "*")') });
  });

  test('unreachable: "not offered" only at an endpoint someone chose; at AWS it is a failure', async () => {
    simulatorAgrees();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    aaMock.on(ValidatePolicyCommand).rejects(refused);
    await expect(checks('auto', recordingLog(), { iam: true, accessAnalyzer: true }).verify(managed())).resolves.toBeUndefined();
    await expect(checks('auto').verify(managed())).rejects.toMatchObject({ code: 'policy-check-error', message: expect.stringContaining('ECONNREFUSED') });
  });

  test('throttling (after the SDK\'s retries) is a failure, not a skip: the next run asks again', async () => {
    simulatorAgrees();
    aaMock.on(ValidatePolicyCommand).rejectsOnce(new ThrottlingException({ $metadata: { httpStatusCode: 429 }, message: 'Rate exceeded' })).resolves({ findings: [] });
    const verifier = checks('auto');
    await expect(verifier.verify(managed())).rejects.toMatchObject({ code: 'policy-check-error', message: expect.stringContaining('Nothing was written') });
    await expect(verifier.verify(managed())).resolves.toBeUndefined();
    expect(aaMock).toHaveReceivedCommandTimes(ValidatePolicyCommand, 2);
  });

  test('off: no call at all, no line', async () => {
    const log = recordingLog();
    await expect(checks('off', log).verify(managed())).resolves.toBeUndefined();
    await expect(checks('off', log).verify(TRUST)).resolves.toBeUndefined();
    expect(iamMock.calls()).toHaveLength(0);
    expect(aaMock.calls()).toHaveLength(0);
    expect(log.lines).toEqual([]);
  });
});

describe('classifyCheckError', () => {
  test.each([
    [iamError('InvalidAction', 400), false, 'unsupported'],
    [aaError('UnknownOperationException', 400), false, 'unsupported'],
    [iamError('NotImplemented', 501), false, 'unsupported'],
    [iamError('Whatever', 501), false, 'unsupported'],
    [iamError('AccessDenied', 403), false, 'not-permitted'],
    [new AccessDeniedException({ $metadata: { httpStatusCode: 403 }, message: 'no' }), true, 'not-permitted'],
    [iamError('NoSuchEntity', 404), true, 'unsupported'],
    [iamError('NoSuchEntity', 404), false, 'failure'],
    [aaError('UnknownError', 400), true, 'unsupported'],
    [aaError('UnknownError', 400), false, 'failure'],
    [new SyntaxError('Unexpected token'), true, 'unsupported'],
    // moto's answer to an action it lacks: an HTML 500 page the SDK's XML reader cannot parse.
    [Object.defineProperty(new Error('@aws-sdk XML parse error: mismatched tags <html> and </title>.'), '$responseBodyText', { value: '<!doctype html><title>500 Internal Server Error</title>' }), true, 'unsupported'],
    [Object.defineProperty(new Error('@aws-sdk XML parse error: mismatched tags <html> and </title>.'), '$responseBodyText', { value: '<html>' }), false, 'failure'],
    [iamError('Throttling', 400), true, 'failure'],
    [iamError('ServiceFailure', 500), true, 'failure'],
    [Object.assign(new Error('getaddrinfo ENOTFOUND access-analyzer.eu-west-1.amazonaws.com'), { code: 'ENOTFOUND' }), false, 'failure'],
    [Object.assign(new Error('wrapped'), { cause: { code: 'ECONNREFUSED' } }), true, 'unsupported'],
  ])('%s (custom endpoint %s): %s', (err, custom, kind) => {
    expect(classifyCheckError(err, custom)).toBe(kind);
  });
});

describe('contextEntries', () => {
  test('aws:ViaAWSService always; the rest only when the probe has them, with their IAM types', () => {
    expect(contextEntries({ action: 'x', viaAwsService: false })).toEqual([{ ContextKeyName: 'aws:ViaAWSService', ContextKeyType: 'boolean', ContextKeyValues: ['false'] }]);
    expect(contextEntries({ action: 'x', viaAwsService: true, sourceIp: '192.0.2.1', sourceVpc: 'vpc-1', sourceVpce: 'vpce-1', kmsViaService: 'ec2.us-east-1.amazonaws.com' })).toEqual([
      { ContextKeyName: 'aws:SourceIp', ContextKeyType: 'ip', ContextKeyValues: ['192.0.2.1'] },
      { ContextKeyName: 'aws:ViaAWSService', ContextKeyType: 'boolean', ContextKeyValues: ['true'] },
      { ContextKeyName: 'aws:SourceVpc', ContextKeyType: 'string', ContextKeyValues: ['vpc-1'] },
      { ContextKeyName: 'aws:SourceVpce', ContextKeyType: 'string', ContextKeyValues: ['vpce-1'] },
      { ContextKeyName: 'kms:ViaService', ContextKeyType: 'string', ContextKeyValues: ['ec2.us-east-1.amazonaws.com'] },
    ]);
  });
});
