import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist';
import { managedPolicyShape } from '../lambda/allowlist/plan';
import { trustPolicyShape } from '../lambda/allowlist/trust-policy';
import { addressProblem, checkAddresses, checkExitCode, checkText } from '../lambda/check';

const DOCUMENT = serializePolicy(renderDenyPolicy(['3.0.0.0/24', '2600:1f18::/48']));

describe('check', () => {
  test('inside the list: not denied; outside: denied by our statement; via an AWS service: not denied', () => {
    const results = checkAddresses(DOCUMENT, ['3.0.0.7', '52.1.2.3', '2600:1f18::1'], managedPolicyShape(), { viaAwsService: false });
    expect(results.map((r) => r.outcome)).toEqual(['not denied', 'denied', 'not denied']);
    expect(checkText(results).split('\n')[1]).toBe('52.1.2.3: denied by statement "AllowlistSyncDenyOutsideTrustedIps"');
    expect(checkExitCode(results)).toBe(3);
    const via = checkAddresses(DOCUMENT, ['52.1.2.3'], managedPolicyShape(), { viaAwsService: true });
    expect(checkText(via)).toBe('52.1.2.3 (via an AWS service): not denied');
    expect(checkExitCode(via)).toBe(0);
  });

  test('a URL-encoded document (as IAM returns it) reads the same', () => {
    expect(checkAddresses(encodeURIComponent(DOCUMENT), ['52.1.2.3'], managedPolicyShape(), { viaAwsService: false })[0].outcome).toBe('denied');
  });

  test('a trust policy is checked for each principal its deny names, with every statement in force', () => {
    const shape = trustPolicyShape(['arn:aws:iam::123456789012:role/ci', 'arn:aws:iam::123456789012:role/ops']);
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        shape.render(['3.0.0.0/24'], undefined).Statement[0],
        { Sid: 'NoOps', Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::123456789012:role/ops' }, Action: 'sts:AssumeRole' },
      ],
    });
    const results = checkAddresses(document, ['3.0.0.1'], shape, { viaAwsService: false });
    expect(checkText(results)).toBe(
      ['3.0.0.1 as arn:aws:iam::123456789012:role/ci: not denied', '3.0.0.1 as arn:aws:iam::123456789012:role/ops: denied by statement "NoOps"'].join('\n'),
    );
  });

  test('a statement the evaluator cannot read: cannot tell (exit 1), never "not denied"', () => {
    const document = JSON.stringify({ Statement: [{ Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } }] });
    const results = checkAddresses(document, ['3.0.0.1'], managedPolicyShape(), { viaAwsService: false });
    expect(results[0].outcome).toBe('unknown');
    expect(checkText(results)).toMatch(/^3\.0\.0\.1: cannot tell: statement #1 uses /);
    expect(checkExitCode(results)).toBe(1);
  });

  test('no document in force denies nothing, and says so; a malformed address is named', () => {
    expect(checkText(checkAddresses(undefined, ['3.0.0.1'], managedPolicyShape(), { viaAwsService: false }))).toBe('3.0.0.1: not denied (there is no document in force)');
    expect(addressProblem('3.0.0.0/24')).toMatch(/^"3\.0\.0\.0\/24" is not an IP address/);
    expect(addressProblem('office')).toMatch(/^"office" is not an IP address/);
    expect(addressProblem('2600:1f18::1')).toBeUndefined();
  });

  test('a deny limited to some resources cannot be told for "any request": cannot tell, not "denied"', () => {
    const document = JSON.stringify({ Statement: [{ Sid: 'OnlyOneBucket', Effect: 'Deny', Action: '*', Resource: 'arn:aws:s3:::secret', Condition: { NotIpAddress: { 'aws:SourceIp': ['3.0.0.0/24'] } } }] });
    const [result] = checkAddresses(document, ['52.1.2.3'], managedPolicyShape(), { viaAwsService: false });
    expect(result).toMatchObject({ outcome: 'unknown', statement: '"OnlyOneBucket"' });
  });
});
