/**
 * What the Lambda handler lets be seen: several targets' results and metrics, EMF metrics, logs, and never a
 * secret, through the container harness (test/helpers/lambda-harness.ts).
 */
import { policySize } from '../lambda/allowlist';
import {
  ARN,
  CLIENT_ID,
  CLIENT_SECRET,
  FUNCTION,
  METRIC_NAMES,
  NAMESPACE,
  PARAMETER,
  SERVICE,
  SYNCED_DOC,
  alertEvents,
  alerts,
  coldStart,
  fakeIam,
  installLambdaHarness,
  out,
  server,
  ssmHolds,
} from './helpers/lambda-harness';
import type { Responder } from './helpers/ocm-server';

installLambdaHarness();

// ---------------------------------------------------------------------------------------------------------

describe('several targets (ALLOWLIST_TARGETS)', () => {
  const OTHER = 'arn:aws:iam::123456789012:policy/ci-machines';
  const targets = (second: Record<string, unknown>) =>
    JSON.stringify([{ name: SERVICE, kind: 'managed-policy', policyArn: ARN, sources: ['ocm'] }, { name: 'ci-machines', kind: 'managed-policy', sources: ['static:203.0.113.64/26'], ...second }]);

  test('the list form returns one result per target, each with its metrics under its own service dimension', async () => {
    const list = JSON.stringify([{ name: 'ci-machines', kind: 'managed-policy', policyArn: ARN, sources: ['ocm', 'static:203.0.113.64/26'], dryRun: true }]);
    const result = (await coldStart({ ALLOWLIST_TARGETS: list }).invoke()) as unknown as { status: string; targets: { target: string; status: string; entries: string[] }[] };
    expect(result.status).toBe('changes');
    expect(result.targets.map((t) => [t.target, t.status])).toEqual([['ci-machines', 'changes']]);
    expect(result.targets[0].entries).toContain('203.0.113.64/26');
    expect(out.emf().map((b) => b.service)).toEqual(['ci-machines']);
    expect(out.emf()[0]).toMatchObject({ SyncSucceeded: 1, PolicyUpdated: 0 });
    expect(fakeIam.versionIds().length).toBe(1);
  });

  test('a failing target does not block the other; the invocation then fails naming it, and each is alerted', async () => {
    const err = await coldStart({ ALLOWLIST_TARGETS: targets({ policyArn: OTHER }) }).fail();
    expect(err.message).toMatch(/^1 of 2 targets failed: ci-machines: .*ci-machines.*\(the others: rosa-trusted-ips updated\)\.$/);
    expect(fakeIam.versionIds().length).toBe(2);
    expect(out.emf().find((b) => b.service === 'ci-machines')).toMatchObject({ SyncSucceeded: 0 });
    expect(out.emf().find((b) => b.service === SERVICE)).toMatchObject({ SyncSucceeded: 1, PolicyUpdated: 1 });
  });
});

describe('metrics (EMF on stdout)', () => {
  test('an update emits every sync metric once, in the namespace, with the service dimension', async () => {
    const result = await coldStart().invoke();

    const blobs = out.emf();
    expect(blobs).toHaveLength(1);
    const [blob] = blobs;
    const [directive] = blob._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(NAMESPACE);
    expect(directive.Dimensions).toEqual([['service']]);
    expect(blob.service).toBe(SERVICE);
    expect(directive.Metrics.map((m) => m.Name).sort()).toEqual([...METRIC_NAMES].sort());
    expect(directive.Metrics.find((m) => m.Name === 'SyncDuration')?.Unit).toBe('Milliseconds');
    expect(directive.Metrics.filter((m) => m.Name !== 'SyncDuration').every((m) => m.Unit === 'Count')).toBe(true);
    const size = policySize(SYNCED_DOC);
    expect(blob).toMatchObject({
      SyncSucceeded: 1,
      PolicyUpdated: 1,
      Refused: 0,
      EntriesAdded: 1,
      EntriesRemoved: 0,
      AllowlistEntries: result.entries.length,
      PolicySizeChars: size,
      PolicySizeHeadroom: 6144 - size,
    });
    expect(typeof blob.SyncDuration).toBe('number');
    expect(blob.SyncDuration as number).toBeGreaterThanOrEqual(0);

    // The cold start is counted on the first invocation of a container only.
    const coldStarts = () => out.records().filter((r) => 'ColdStart' in r);
    expect(coldStarts()).toHaveLength(1);
    expect(coldStarts()[0]).toMatchObject({ ColdStart: 1, service: SERVICE });
  });

  test('an unchanged run counts a success and no update; the next cold start counts another ColdStart', async () => {
    const fn = coldStart();
    await fn.invoke();
    await fn.invoke();

    expect(out.metric('SyncSucceeded')).toEqual([1, 1]);
    expect(out.metric('PolicyUpdated')).toEqual([1, 0]);
    expect(out.metric('EntriesAdded')).toEqual([1, 0]);
    expect(out.records().filter((r) => 'ColdStart' in r)).toHaveLength(1);
    await coldStart().invoke();
    expect(out.records().filter((r) => 'ColdStart' in r)).toHaveLength(2);
  });

  test('without POWERTOOLS_SERVICE_NAME nor ALLOWLIST_NAME, metrics and alerts name the same (default) allowlist', async () => {
    await coldStart({ POWERTOOLS_SERVICE_NAME: undefined, ALLOWLIST_NAME: undefined }).invoke();

    expect(out.emf()[0].service).toBe('rosa-trusted-ips');
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips updated (+1 -0)');
    expect(out.logs().every((l) => l.service === 'rosa-trusted-ips')).toBe(true);
  });

  test('ALLOWLIST_NAME alone names the metrics dimension, the logs and the alerts', async () => {
    await coldStart({ POWERTOOLS_SERVICE_NAME: undefined, ALLOWLIST_NAME: 'corp-vpn' }).invoke();

    expect(out.emf()[0].service).toBe('corp-vpn');
    expect(alerts()[0].subject).toBe('allowlist-sync: corp-vpn updated (+1 -0)');
  });

  test('logs are JSON lines with the service, the request id and the result', async () => {
    const result = await coldStart().invoke();

    const finished = out.logs().find((l) => l.message === 'sync finished');
    expect(finished).toMatchObject({
      level: 'INFO',
      service: SERVICE,
      function_name: FUNCTION,
      function_request_id: expect.stringMatching(/^0a1b2c3d-/),
      status: 'updated',
      planId: result.planId,
      added: ['2001:db8::/48'],
      removed: [],
      entries: 3,
    });
  });
});

describe('secrets', () => {
  test('never in logs, errors or alerts: a normal run, a renewed token, and SSO and OCM errors that echo them', async () => {
    // A normal run and a token renewal after OCM revokes the token.
    const fn = coldStart();
    await fn.invoke();
    server.revokeTokens();
    await fn.invoke();
    expect(server.issuedTokens).toHaveLength(2);

    // OCM answers with an error page quoting the bearer token it was sent.
    const echoToken: Responder = (req, res) => {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Bad request with ${String(req.headers.authorization)}</title></head></html>`);
    };
    server.enqueue('api', echoToken);
    const ocmErr = await fn.fail();
    expect(ocmErr.message).toContain('Bearer [redacted]');

    // SSO answers a fresh container with an error quoting the client secret and the Basic header.
    const echoSecret: Responder = (req, res) => {
      res.writeHead(401, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Denied ${CLIENT_SECRET} ${String(req.headers.authorization)}</title></head></html>`);
    };
    server.override('token', echoSecret);
    const ssoErr = await coldStart().fail();
    expect(ssoErr.message).toContain('[redacted]');
    expect(alertEvents()).toEqual(['updated', 'failed', 'failed']);
    // The afterEach check runs over every line, error and alert of this test.
    expect(out.lines.length).toBeGreaterThan(10);
  });

  test('a malformed credentials parameter is named, never quoted', async () => {
    ssmHolds(`{"clientId": "${CLIENT_ID}", "clientSecret": "${CLIENT_SECRET}"`);

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'ocm-credentials-invalid' });
    expect(err.message).toContain(`SSM parameter "${PARAMETER}"`);
    expect(alertEvents()).toEqual(['failed']);
  });
});
