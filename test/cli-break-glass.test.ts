/**
 * Break-glass from the CLI, through the real executable: `pause --reason` lifts the deny at once (the document
 * denies nothing), scheduled/CLI syncs then write nothing and report paused, `resume` ends it and (with --source)
 * restores the allowlist through the guards. Locally on a file target's state, and through the deployed function
 * (`--function`) against the Lambda stand-in running the real handler on the IAM stand-in.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlaceholder } from '../lambda/allowlist/placeholder';
import { parsePolicy, renderDenyPolicy, serializePolicy } from '../lambda/allowlist/policy';
import { AwsStandIn } from './helpers/aws-stand-in';
import { LambdaStandIn, deployedFunction } from './helpers/lambda-stand-in';
import { CliRun, runCli } from './helpers/cli';

const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const ENTRIES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'];
const KEYS = { accessKeyId: 'AKIDBREAKGLASS', secretAccessKey: 'break-glass-secret' };

jest.setTimeout(60_000);


let dir: string;
let aws: AwsStandIn;
let lambda: LambdaStandIn;

beforeAll(async () => {
  aws = await AwsStandIn.start({ policyArn: ARN, parameter: { name: '/unused', value: '{}' } });
  lambda = await LambdaStandIn.start();
});
afterAll(async () => {
  await lambda.close();
  await aws.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'allowlist-break-glass-'));
  lambda.requests.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args, { AWS_ENDPOINT_URL: lambda.url, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey, AWS_MAX_ATTEMPTS: '1' });

const deniesNothing = (text: string): boolean => isPlaceholder(parsePolicy(text));

describe('pause and resume, locally', () => {
  it('pause lifts the deny now and holds syncs; resume --source restores the allowlist', async () => {
    const policy = join(dir, 'policy.json');
    const target = `file:${policy}`;
    const source = `static:${ENTRIES.join(',')}`;
    await writeFile(policy, serializePolicy(renderDenyPolicy(ENTRIES)));

    const noReason = await cli(['pause', '--target', target]);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");

    const pause = await cli(['pause', '--target', target, '--reason', 'Red Hat SRE locked out, INC-4711']);
    expect(pause.stderr).toBe('');
    expect(pause.code).toBe(0);
    expect(pause.stdout).toMatch(/^Paused: file:.*The IP restriction is lifted/);
    expect(pause.stdout).toContain('Red Hat SRE locked out, INC-4711');
    expect(pause.stdout).not.toMatch(/allowlist is empty/i);
    expect(deniesNothing(await readFile(policy, 'utf8'))).toBe(true);

    const again = await cli(['pause', '--target', target, '--reason', 'twice', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'pause', status: 'already-paused', written: false });

    const held = await cli(['apply', '--target', target, '--source', source, '--json']);
    expect(held.code).toBe(3);
    expect(JSON.parse(held.stdout)).toMatchObject({ status: 'paused' });
    expect(deniesNothing(await readFile(policy, 'utf8'))).toBe(true);

    const status = await cli(['status', '--target', target]);
    expect(status.stdout).toMatch(/^PAUSED: {3}by cli:.*: Red Hat SRE locked out, INC-4711 \(the IP restriction is lifted; it replaced r1\)$/m);

    const resume = await cli(['resume', '--target', target, '--source', source]);
    expect(resume.stderr).toBe('');
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(/^Resumed: file:/);
    expect(resume.stdout).toContain('Policy updated.');
    expect(JSON.parse(await readFile(policy, 'utf8'))).toEqual(renderDenyPolicy(ENTRIES));
  });

  it('an AWS target is paused only in the deployment’s state (or through the function), never in a local file', async () => {
    const run = await cli(['pause', '--target', `iam:${ARN}`, '--reason', 'locked out']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`pause of iam:${ARN} needs the deployment's state (--state-table NAME, or STATE_TABLE), or --function NAME`);
    expect(lambda.requests).toEqual([]);
  });

  it('apply on a paused target exits 3: nothing was written', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(policy, serializePolicy(renderDenyPolicy(ENTRIES)));
    expect((await cli(['pause', '--target', `file:${policy}`, '--reason', 'testing'])).code).toBe(0);
    const apply = await cli(['apply', '--target', `file:${policy}`, '--source', `static:${ENTRIES.join(',')}`]);
    expect(apply.code).toBe(3);
    expect(apply.stdout).toMatch(/^PAUSED/);
  });

  it('a restore the guards refuse still ends the pause, and says so (3)', async () => {
    const policy = join(dir, 'policy.json');
    const target = `file:${policy}`;
    await writeFile(policy, serializePolicy(renderDenyPolicy(ENTRIES)));
    expect((await cli(['pause', '--target', target, '--reason', 'testing'])).code).toBe(0);
    const resume = await cli(['resume', '--target', target, '--source', 'static:192.0.2.0/24', '--json']);
    expect(resume.code).toBe(3);
    expect(JSON.parse(resume.stdout)).toMatchObject({ action: 'resume', status: 'resumed', sync: { status: 'refused' } });
    expect(deniesNothing(await readFile(policy, 'utf8'))).toBe(true);
    expect((await cli(['status', '--target', target])).stdout).not.toMatch(/^PAUSED:/m);
  });
});

describe('pause and resume through the deployed function', () => {
  it('sends the pause and resume events; the function lifts and restores its policy', async () => {
    aws.reset(serializePolicy(renderDenyPolicy(ENTRIES)));
    lambda.functions.set('allowlist-sync-fn', deployedFunction({ policyArn: ARN, entries: ENTRIES, iamEndpoint: aws.url, credentials: KEYS }));

    const pause = await cli(['pause', '--function', 'allowlist-sync-fn', '--reason', 'SRE locked out']);
    expect(pause.stderr).toBe('');
    expect(pause.code).toBe(0);
    expect(pause.stdout).toContain('The IP restriction is lifted');
    expect(lambda.requests[0].event).toEqual({ action: 'pause', reason: 'SRE locked out', by: expect.stringMatching(/^cli:/) });
    expect(deniesNothing(aws.policy(ARN)?.defaultDocument ?? '')).toBe(true);

    const status = await cli(['status', '--function', 'allowlist-sync-fn']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^PAUSED: {3}by cli:.*: SRE locked out \(the IP restriction is lifted; it replaced v1\)$/m);

    const resume = await cli(['resume', '--function', 'allowlist-sync-fn', '--json']);
    expect(resume.code).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ action: 'resume', status: 'resumed', sync: { status: 'updated' } });
    expect(aws.policy(ARN)?.defaultDocument).toBe(serializePolicy(renderDenyPolicy(ENTRIES)));
  });
});
