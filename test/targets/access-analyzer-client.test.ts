import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidatePolicyCommand } from '@aws-sdk/client-accessanalyzer';
import { IAMClient } from '@aws-sdk/client-iam';
import { loadPolicyCheckSettings, loadSdkSettings } from '../../lambda/config';
import type { Log } from '../../lambda/ports';
import { createAccessAnalyzerClient } from '../../lambda/targets/access-analyzer-client';
import { awsPolicyChecks } from '../../lambda/targets/policy-checks';

// The SDK's own endpoint variables reach Access Analyzer (nothing in the tool sets an endpoint), proved against a
// real server on 127.0.0.1; and a server that does not serve the API is "not offered", told once.

let server: Server;
let url: string;
let requests: { method?: string; path?: string; body: string }[];
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ method: req.method, path: req.url, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
  answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ findings: [] }));
  };
  for (const key of Object.keys(process.env)) if (/^AWS_/.test(key)) delete process.env[key];
  Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-secret', AWS_MAX_ATTEMPTS: '1' });
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

const DOCUMENT = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] });

test.each(['AWS_ENDPOINT_URL_ACCESSANALYZER', 'AWS_ENDPOINT_URL'])('%s is where ValidatePolicy goes', async (variable) => {
  process.env[variable] = url;
  const client = createAccessAnalyzerClient({}, loadSdkSettings(process.env));
  await expect(client.send(new ValidatePolicyCommand({ policyDocument: DOCUMENT, policyType: 'IDENTITY_POLICY' }))).resolves.toMatchObject({ findings: [] });
  expect(requests).toHaveLength(1);
  expect(requests[0]).toMatchObject({ method: 'POST', path: '/policy/validation' });
  expect(JSON.parse(requests[0].body)).toEqual({ policyDocument: DOCUMENT, policyType: 'IDENTITY_POLICY' });
  client.destroy();
});

test("the tool's defaults give way to the SDK's variables: AWS_MAX_ATTEMPTS 1 means one request", async () => {
  process.env.AWS_ENDPOINT_URL_ACCESSANALYZER = url;
  answer = (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerException' });
    res.end(JSON.stringify({ message: 'boom' }));
  };
  const client = createAccessAnalyzerClient({}, loadSdkSettings(process.env));
  await expect(client.send(new ValidatePolicyCommand({ policyDocument: DOCUMENT, policyType: 'IDENTITY_POLICY' }))).rejects.toMatchObject({ name: 'InternalServerException' });
  expect(requests).toHaveLength(1);
  client.destroy();
});

test('a stand-in that does not serve Access Analyzer: skipped with one line, and not asked again', async () => {
  process.env.AWS_ENDPOINT_URL = url;
  answer = (_req, res) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('stand-in: unknown service');
  };
  const lines: string[] = [];
  const log: Log = { info: (m) => lines.push(m), warn: (m) => lines.push(m) };
  const settings = loadPolicyCheckSettings(process.env);
  expect(settings).toEqual({ mode: 'auto', customEndpoint: { iam: true, accessAnalyzer: true } });
  const client = createAccessAnalyzerClient({}, loadSdkSettings(process.env));
  const verifier = awsPolicyChecks({ ...settings, iam: () => new IAMClient({}), accessAnalyzer: () => client, log });
  const request = { target: 'iam-trust:BreakGlass', policyType: 'trust' as const, document: DOCUMENT, entries: ['192.0.2.0/24'], proof: { action: 'sts:AssumeRole', viaAwsServiceExemption: true } };
  for (let run = 0; run < 3; run++) await expect(verifier.verify(request)).resolves.toBeUndefined();
  expect(requests).toHaveLength(1);
  expect(lines.filter((l) => l.includes('access-analyzer:ValidatePolicy skipped'))).toHaveLength(1);
  client.destroy();
});

describe('loadPolicyCheckSettings', () => {
  test('auto by default; any case; the endpoint variables as the SDK reads them', () => {
    expect(loadPolicyCheckSettings({})).toEqual({ mode: 'auto', customEndpoint: { iam: false, accessAnalyzer: false } });
    expect(loadPolicyCheckSettings({ POLICY_CHECKS: ' Required ' }).mode).toBe('required');
    expect(loadPolicyCheckSettings({ AWS_ENDPOINT_URL_IAM: 'http://127.0.0.1:1' }).customEndpoint).toEqual({ iam: true, accessAnalyzer: false });
    expect(loadPolicyCheckSettings({ AWS_ENDPOINT_URL: 'http://x', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).customEndpoint).toEqual({ iam: false, accessAnalyzer: false });
  });

  test('anything else is refused, naming the variable and the value', () => {
    expect(() => loadPolicyCheckSettings({ POLICY_CHECKS: 'on' })).toThrow('Configuration error: POLICY_CHECKS must be one of auto, off, required, got "on".');
  });
});
