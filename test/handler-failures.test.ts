/**
 * Failures through the Lambda handler (OCM, IAM, configuration, SNS): alerted, then thrown with a message naming
 * the problem, through the container harness (test/helpers/lambda-harness.ts).
 */
import * as iamSdk from '@aws-sdk/client-iam';
import * as snsSdk from '@aws-sdk/client-sns';
import { accessDenied } from './helpers/fake-iam';
import {
  ARN,
  FUNCTION,
  SYNCED_DOC,
  TOPIC,
  alertEvents,
  alertState,
  alerts,
  coldStart,
  expectNoVersionWrites,
  fakeIam,
  iamMock,
  installLambdaHarness,
  out,
  server,
  snsMock,
} from './helpers/lambda-harness';
import { FakeOcmServer, hang } from './helpers/ocm-server';

installLambdaHarness();

// ---------------------------------------------------------------------------------------------------------

describe('failures: alerted, then thrown with a message naming the problem', () => {
  test('OCM down (connection refused)', async () => {
    const gone = await FakeOcmServer.start();
    const url = gone.apiUrl;
    await gone.close();

    const err = await coldStart({ OCM_API_URL: url }).fail();

    expect(err).toMatchObject({ code: 'ocm-network' });
    expect(err.message).toContain(`${url}/api/clusters_mgmt/v1/trusted_ip_addresses`);
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].body).toContain(err.message.slice(0, 60));
    expectNoVersionWrites();
  });

  test('OCM hanging: the request times out, then the run is alerted and thrown', async () => {
    server.override('api', hang());

    const err = await coldStart({}, { requestTimeoutMs: 500, attempts: 1 }).fail();

    expect(err).toMatchObject({ code: 'ocm-timeout' });
    expect(err.message).toMatch(/^OCM did not answer GET http:\/\/127\.0\.0\.1:\d+\/api\/clusters_mgmt\/v1\/trusted_ip_addresses\?page=1&size=100 in time \(no complete answer within 500 ms; 1 try\)\./);
    expect(server.requestsTo('api')).toHaveLength(1);
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (ocm-timeout)');
    expectNoVersionWrites();
  });

  test('IAM AccessDenied', async () => {
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(err.message).toMatch(new RegExp(`^IAM denied iam:GetPolicy on ${ARN.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: User: .* is not authorized to perform: iam:GetPolicy`));
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (iam-access-denied)');
    expect(alerts()[0].body).toContain('Allow iam:GetPolicy on this policy for the role running allowlist-sync');
    expectNoVersionWrites();
  });

  test('the policy does not exist (NoSuchEntity): alerted once, the state kept in the table, not on the missing policy', async () => {
    fakeIam.deleted = true;
    const fn = coldStart();

    const err = await fn.fail();

    expect(err).toMatchObject({ code: 'policy-not-found' });
    expect(err.message).toBe(
      `The IAM managed policy ${ARN} does not exist (iam:GetPolicy: Policy ${ARN} was not found.). Check the policy ARN allowlist-sync is configured with (account id, path, name), or deploy the stack that creates the policy.`,
    );
    expect(alertEvents()).toEqual(['failed']);
    await fn.fail();
    await coldStart().fail();
    expect(alertEvents()).toEqual(['failed']);
    expect((await alertState()).status).toBe('failed');
  });

  test.each<[string, Record<string, string | undefined>, string]>([
    ['POLICY_ARN missing', { POLICY_ARN: undefined }, 'Configuration error: POLICY_ARN is required (the ARN of the managed policy to keep in sync). Fix the environment variable and run again.'],
    ['MIN_ENTRIES=abc', { MIN_ENTRIES: 'abc' }, 'Configuration error: MIN_ENTRIES must be a whole number from 1 to 100000, got "abc". Fix the environment variable and run again.'],
    ['POLICY_ARN not an ARN', { POLICY_ARN: 'rosa-trusted-ips' }, 'Configuration error: POLICY_ARN must be an IAM policy ARN like arn:aws:iam::123456789012:policy/name, got "rosa-trusted-ips". Fix the environment variable and run again.'],
    ['DRY_RUN=maybe', { DRY_RUN: 'maybe' }, 'Configuration error: DRY_RUN must be true or false, got "maybe". Fix the environment variable and run again.'],
  ])('bad configuration (%s): alerted once, thrown every time', async (_name, env, message) => {
    const fn = coldStart(env);

    const first = await fn.fail();
    const second = await fn.fail();

    for (const err of [first, second]) expect(err).toMatchObject({ code: 'config', message });
    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].subject).toBe('allowlist-sync: rosa-trusted-ips FAILED (config)');
    expect(alerts()[0].body).toContain(message.replace(' Fix the environment variable and run again.', ''));
    expect(alerts()[0].topic).toBe(TOPIC);
    // The policy is neither read nor written (its tags may hold the alert state).
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.GetPolicyCommand);
    expectNoVersionWrites();
    expect(server.requests).toHaveLength(0);
  });

  test('the same configuration error after cold starts is told once (state in the table), its fix as a recovery', async () => {
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();
    await coldStart({ MIN_ENTRIES: 'abc' }).fail();

    expect(alertEvents()).toEqual(['failed']);
    expect((await alertState(`deployment:${FUNCTION}`))).toEqual({ status: 'failed', key: expect.stringMatching(/^config:[0-9a-f]{12}$/) });
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.GetPolicyCommand);

    // Another configuration error is news.
    await coldStart({ MIN_ENTRIES: '0' }).fail();
    expect(alertEvents()).toEqual(['failed', 'failed']);
    expect(alerts()[1].body).toContain('MIN_ENTRIES must be a whole number from 1 to 100000, got "0"');

    const fixed = await coldStart().invoke();
    expect(fixed.status).toBe('updated');
    expect(alertEvents()).toEqual(['failed', 'failed', 'recovered', 'updated']);
    expect(alerts()[2].body).toMatch(/Before: {3}failure \(config:[0-9a-f]{12}\) since \S+/);
    // Told once: the next cold start has nothing more to say about the configuration.
    await coldStart().invoke();
    expect(alertEvents()).toEqual(['failed', 'failed', 'recovered', 'updated']);
  });

  test('without a usable POLICY_ARN the state is still kept (the table is the deployment\'s): one alert in all', async () => {
    const fn = coldStart({ POLICY_ARN: undefined });
    await fn.fail();
    await fn.fail();
    await coldStart({ POLICY_ARN: undefined }).fail();

    expect(alertEvents()).toEqual(['failed']);
    expect(alerts()[0].body).toContain('Policy:   (POLICY_ARN unset)');
  });

  test('bad configuration whose alert cannot be published: the configuration error is thrown, AlertPublishFailed counted', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new Error('connect ETIMEDOUT'));

    const err = await coldStart({ MIN_ENTRIES: 'abc' }).fail();

    expect(err).toMatchObject({ code: 'config' });
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.logs().find((l) => l.message === 'could not alert the configuration error')?.error).toBe(
      `Could not publish the "failed" alert to ${TOPIC}: connect ETIMEDOUT. Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.`,
    );
    // Not stored as told, so the next cold start tries again.
    expect((await alertState()).status).toBeUndefined();
  });

  test('bad configuration without a topic: throws, publishes nothing', async () => {
    const err = await coldStart({ ALERT_TOPIC_ARN: undefined, MIN_ENTRIES: 'abc' }).fail();

    expect(err.message).toContain('MIN_ENTRIES');
    expect(snsMock.send.callCount).toBe(0);
  });

  test('a failure without a topic configured is still thrown', async () => {
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart({ ALERT_TOPIC_ARN: undefined }).fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(snsMock.send.callCount).toBe(0);
    expect((await alertState()).status).toBeUndefined();
  });
});

describe('SNS failing after a write', () => {
  test('the version stays written, AlertPublishFailed is counted, the invocation throws', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new snsSdk.AuthorizationErrorException({ message: 'User is not authorized to perform SNS:Publish', $metadata: { httpStatusCode: 403 } }));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect(err.message).toBe(
      `Could not publish the "updated" alert to ${TOPIC}: User is not authorized to perform SNS:Publish. Check sns:Publish on the topic for the function's role (and the KMS key policy if the topic is encrypted). The alert is sent again on the next run.`,
    );
    // Written, and not rolled back.
    expect(fakeIam.defaultVersionId).toBe('v2');
    expect(fakeIam.defaultDocument).toBe(SYNCED_DOC);
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.SetDefaultPolicyVersionCommand);
    expect(iamMock).not.toHaveReceivedCommand(iamSdk.DeletePolicyVersionCommand);
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.metric('PolicyUpdated')).toEqual([1]);
    expect(out.metric('SyncSucceeded')).toEqual([1]);
    // The alert state is not advanced, so an unsent refusal or failure is tried again next run.
    expect((await alertState()).status).toBeUndefined();
  });

  test('a failure whose alert cannot be published either: the original error is thrown, AlertPublishFailed counted', async () => {
    snsMock.reset();
    snsMock.on(snsSdk.PublishCommand).rejects(new Error('socket hang up'));
    fakeIam.failOn('GetPolicy', accessDenied('iam:GetPolicy', ARN));

    const err = await coldStart().fail();

    expect(err).toMatchObject({ code: 'iam-access-denied' });
    expect(out.metric('AlertPublishFailed')).toEqual([1]);
    expect(out.metric('SyncSucceeded')).toEqual([0]);
  });
});
