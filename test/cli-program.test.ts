/**
 * The CLI as an operator meets it, through the real executable (`node bin/allowlist-sync.js`): commander's
 * help, version, typos and strict flags; colour and NO_COLOR; `--profile` / `--region` reaching the SDK; remote
 * mode (`--function`) against a Lambda stand-in on 127.0.0.1 whose function is the real handler (IAM on the
 * AWS stand-in), by function name and by stack name.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDenyPolicy, serializePolicy } from '../lambda/allowlist/policy';
import { main } from '../bin/allowlist-sync';
import { AwsStandIn } from './helpers/aws-stand-in';
import { LambdaStandIn, deployedFunction } from './helpers/lambda-stand-in';
import { CliRun, runCli } from './helpers/cli';

const REPO = join(__dirname, '..');
const ARN = 'arn:aws:iam::123456789012:policy/rosa-trusted-ips';
const ENTRIES = ['192.0.2.0/24', '198.51.100.0/24'];
/** What the deployed function's sources give: one entry more. */
const DEPLOYED = [...ENTRIES, '203.0.113.0/24'];
const KEYS = { accessKeyId: 'AKIDDEFAULTEXAMPLE', secretAccessKey: 'default-secret' };

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
  dir = await mkdtemp(join(tmpdir(), 'allowlist-cli-program-'));
  lambda.requests.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { AWS_ENDPOINT_URL: lambda.url, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey, AWS_MAX_ATTEMPTS: '1', ...env });

describe('commander: help, version, typos, strict flags', () => {
  it('--version prints the package version; help COMMAND and COMMAND --help show that command’s own options', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const [version, helpPlan, planHelp, rollbackHelp] = await Promise.all([cli(['--version']), cli(['help', 'plan']), cli(['plan', '--help']), cli(['rollback', '--help'])]);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(helpPlan.code).toBe(0);
    expect(helpPlan.stdout).toBe(planHelp.stdout);
    expect(planHelp.stdout).toMatch(/^Usage: allowlist-sync plan \[options\]/);
    expect(planHelp.stdout).toContain('--out <file>');
    expect(planHelp.stdout).toContain('--function <name>');
    expect(planHelp.stdout).toContain('--profile <name>');
    expect(planHelp.stdout).not.toContain('--to <version>');
    expect(rollbackHelp.stdout).toContain('--to <version>');
    expect(rollbackHelp.stdout).not.toContain('--out <file>');
  });

  it('a mistyped command or flag suggests the right one; a flag of another command is an error naming it, writing nothing', async () => {
    const policy = join(dir, 'policy.json');
    const document = serializePolicy(renderDenyPolicy(['203.0.113.0/24']));
    await writeFile(policy, document);
    const [typo, flag, foreign] = await Promise.all([
      cli(['plna', '--target', `file:${policy}`]),
      cli(['plan', '--tagret', `file:${policy}`, '--source', 'static:192.0.2.0/24']),
      cli(['apply', '--to', 'v3', '--force', '--target', `file:${policy}`, '--source', 'static:192.0.2.0/24']),
    ]);
    expect(typo).toEqual({ code: 1, stdout: '', stderr: "allowlist-sync: unknown command 'plna'\n(Did you mean plan?)\nRun \"allowlist-sync --help\" for usage.\n" });
    expect(flag).toEqual({ code: 1, stdout: '', stderr: "allowlist-sync: unknown option '--tagret'\n(Did you mean --target?)\nRun \"allowlist-sync plan --help\" for usage.\n" });
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/^allowlist-sync: unknown option '--to'\n/);
    expect(await readFile(policy, 'utf8')).toBe(document);
  });

  it('--json keeps one JSON object on stdout, for a usage error too', async () => {
    const run = await cli(['plan', '--json', '--bogus']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'error', error: "unknown option '--bogus'", code: 'usage' });
  });

  it('colour on a terminal only: none when piped, with NO_COLOR or --no-color', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(policy, serializePolicy(renderDenyPolicy(['203.0.113.0/24'])));
    const args = ['plan', '--target', `file:${policy}`, '--source', 'static:203.0.113.0/24,192.0.2.0/24'];
    const outputs = async (env: Record<string, string | undefined>, extra: string[] = [], isTTY = true): Promise<string> => {
      const out: string[] = [];
      await main([...args, ...extra], env, { out: (t) => out.push(t), err: () => undefined, isTTY });
      return out.join('\n');
    };
    const ESC = '\u001b[';
    expect(await outputs({})).toContain(`${ESC}33mChanges pending`);
    expect(await outputs({})).toContain(`${ESC}32m  + 192.0.2.0/24`);
    expect(await outputs({}, [], false)).not.toContain(ESC);
    expect(await outputs({ NO_COLOR: '1' })).not.toContain(ESC);
    expect(await outputs({}, ['--no-color'])).not.toContain(ESC);
    const piped = await cli(args);
    expect(piped.code).toBe(2);
    expect(piped.stdout).not.toContain(ESC);
    expect((await cli(args, { FORCE_COLOR: '1' })).stdout).toContain(ESC);
  });
});

describe('--profile and --region reach the SDK', () => {
  it('signs with the profile’s keys, for the region given', async () => {
    lambda.functions.set('fn', async () => ({ status: 'unchanged', planId: '0123456789abcdef', added: [], removed: [], entries: [], reasons: [] }));
    const credentials = join(dir, 'credentials');
    await writeFile(credentials, '[ops]\naws_access_key_id = AKIDOPSPROFILE\naws_secret_access_key = ops-secret\n');
    const env = { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, 'config'), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const run = await cli(['plan', '--function', 'fn', '--profile', 'ops', '--region', 'ap-southeast-2', '--json'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lambda.requests).toEqual([{ service: 'lambda', region: 'ap-southeast-2', accessKeyId: 'AKIDOPSPROFILE', operation: 'Invoke fn', event: { dryRun: true } }]);
  });
});

describe('remote mode: --function runs the command in the deployed function', () => {
  beforeEach(() => {
    aws.reset(serializePolicy(renderDenyPolicy(ENTRIES)));
    lambda.functions.clear();
    lambda.stacks.clear();
    lambda.functions.set('allowlist-sync-fn', deployedFunction({ policyArn: ARN, entries: DEPLOYED, iamEndpoint: aws.url, credentials: KEYS }));
  });

  it('plan is a dry run of the function (2 for changes, nothing written); apply syncs with the deployed settings (0)', async () => {
    const before = aws.policy(ARN)?.defaultVersionId;
    const plan = await cli(['plan', '--function', 'allowlist-sync-fn']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('Function: allowlist-sync-fn (plan)');
    expect(plan.stdout).toContain('Changes pending (not applied).');
    expect(plan.stdout).toContain('  + 203.0.113.0/24');
    expect(aws.policy(ARN)?.defaultVersionId).toBe(before);
    expect(lambda.requests.map((r) => r.event)).toEqual([{ dryRun: true }]);

    const apply = await cli(['apply', '--function', 'allowlist-sync-fn', '--json']);
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({ status: 'updated', added: ['203.0.113.0/24'], entries: DEPLOYED });
    expect(aws.policy(ARN)?.defaultDocument).toBe(serializePolicy(renderDenyPolicy(DEPLOYED)));
  });

  it('plan --function --out FILE saves the function’s plan; apply FILE sends expectPlanId and applies exactly it, or nothing', async () => {
    const saved = join(dir, 'fn.plan');
    const plan = await cli(['plan', '--function', 'allowlist-sync-fn', '--out', saved, '--json']);
    expect(plan.code).toBe(2);
    const planId = (JSON.parse(plan.stdout) as { planId: string }).planId;
    expect(JSON.parse(await readFile(saved, 'utf8'))).toMatchObject({
      planId,
      status: 'changes',
      origin: { mode: 'function', function: 'allowlist-sync-fn', sources: ['static:EXTRA_CIDRS'] },
      added: ['203.0.113.0/24'],
      document: serializePolicy(renderDenyPolicy(DEPLOYED)),
    });

    const apply = await cli(['apply', saved, '--json']);
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({ status: 'updated', planId });
    expect(aws.policy(ARN)?.defaultDocument).toBe(serializePolicy(renderDenyPolicy(DEPLOYED)));

    // Planned again, then someone writes in between: the saved plan no longer holds, and nothing is written.
    aws.reset(serializePolicy(renderDenyPolicy(ENTRIES)));
    expect((await cli(['plan', '--function', 'allowlist-sync-fn', '--out', saved])).code).toBe(2);
    const between = serializePolicy(renderDenyPolicy([...ENTRIES, '100.24.10.0/24']));
    aws.reset(between);
    const stale = await cli(['apply', saved, '--json']);
    expect(stale.code).toBe(3);
    expect(JSON.parse(stale.stdout)).toMatchObject({ status: 'refused', approvable: false, reasons: expect.arrayContaining([expect.stringMatching(/^the saved plan [0-9a-f]{16} is stale: /)]) });
    expect(aws.policy(ARN)?.defaultDocument).toBe(between);
    expect(lambda.requests.filter((r) => r.operation.startsWith('Invoke')).map((r) => Object.keys(r.event as object))).toEqual([['dryRun'], ['expectPlanId'], ['dryRun'], ['expectPlanId']]);
  });

  it('status shows the last sync from the function’s store; rollback goes through the function, refused (3) unless forced', async () => {
    expect((await cli(['apply', '--function', 'allowlist-sync-fn'])).code).toBe(0);
    const status = await cli(['status', '--function', 'allowlist-sync-fn']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Last run: updated at \S+, plan [0-9a-f]{16}, version v\d+ \(function:allowlist-sync-fn\/req-1\)$/m);
    const previous = aws.policy(ARN)?.defaultVersionId;
    const before = Number(previous?.slice(1)) - 1;

    // Back to the version before: it removes an entry the sources still give, more than the removal guard allows.
    const refused = await cli(['rollback', '--function', 'allowlist-sync-fn', '--to', `v${before}`, '--json']);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout)).toMatchObject({ action: 'rollback', status: 'refused' });
    expect(aws.policy(ARN)?.defaultVersionId).toBe(previous);
    const forced = await cli(['rollback', '--function', 'allowlist-sync-fn', '--to', `v${before}`, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`Rollback: rolled-back (${previous} -> v${before}), forced`);
    expect(aws.policy(ARN)?.defaultVersionId).toBe(`v${before}`);
    expect(lambda.requests.at(-1)?.event).toEqual({ action: 'rollback', to: `v${before}`, force: true });
  });

  it('check reads an iam: target’s policy in force: 3 naming the statement, 0 via an AWS service', async () => {
    const env = { AWS_ENDPOINT_URL: aws.url, AWS_REGION: 'us-east-1' };
    const denied = await cli(['check', '100.24.10.1', '--target', `iam:${ARN}`], env);
    expect(denied).toMatchObject({ code: 3, stdout: '100.24.10.1: denied by statement "AllowlistSyncDenyOutsideTrustedIps"\n' });
    const via = await cli(['check', '100.24.10.1', '--target', `iam:${ARN}`, '--via-aws-service'], env);
    expect(via.code).toBe(0);
    expect((await cli(['check', '192.0.2.7', '--target', `iam:${ARN}`], env)).code).toBe(0);
  });

  it('takes the stack’s name: the function is its FunctionName output', async () => {
    lambda.stacks.set('AllowlistSync', 'allowlist-sync-fn');
    const run = await cli(['plan', '--function', 'AllowlistSync', '--json']);
    expect(run.code).toBe(2);
    expect(lambda.requests.map((r) => r.operation)).toEqual(['Invoke AllowlistSync', 'DescribeStacks', 'Invoke allowlist-sync-fn']);
    const missing = await cli(['plan', '--function', 'NoSuchThing']);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: "allowlist-sync: No function and no stack named NoSuchThing (--function takes the function's name or ARN, or the stack's name).\n" });
  });

  it('refuses flags that only mean something locally; reports a function error as the error it is (1)', async () => {
    const local = await cli(['plan', '--function', 'allowlist-sync-fn', '--source', 'ocm']);
    expect(local).toEqual({ code: 1, stdout: '', stderr: 'allowlist-sync: --source does not apply with --function: the function uses its own settings, sources and state. Run "allowlist-sync plan --help" for usage.\n' });
    expect(lambda.requests).toEqual([]);
    lambda.functions.set('broken', async () => {
      throw new Error('Configuration error: POLICY_ARN is not set');
    });
    // An endpoint that echoes the event back is not a function that applied anything.
    lambda.functions.set('echo', async (event) => event);
    for (const command of [['apply'], ['plan'], ['pause', '--reason', 'x'], ['status']]) {
      const echoed = await cli([...command, '--function', 'echo']);
      expect(echoed.code).toBe(1);
      expect(echoed.stderr).toMatch(new RegExp(`^allowlist-sync: The function echo did not answer with a ${command[0]} result \\(`));
    }
    const broken = await cli(['apply', '--function', 'broken']);
    expect(broken).toEqual({ code: 1, stdout: '', stderr: 'allowlist-sync: The function broken failed: Configuration error: POLICY_ARN is not set (Error).\n' });
  });
});
