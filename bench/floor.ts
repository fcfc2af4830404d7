/**
 * The floor of a cold start: what no implementation of the function can go below with the same SDK and the same
 * requests. A fresh `node` with the function's environment creates the SDK clients the function's cold unchanged
 * cycle uses (IAMClient, SSMClient, DynamoDBClient, from the node_modules the bundle resolves, default config, so
 * AWS_REGION and AWS_ENDPOINT_URL(_DYNAMODB) apply as they do for the function), then makes exactly the requests
 * a real cold unchanged run made (as the servers counted them), one after the other, each as small as it can be:
 *   GetParameter              SSM GetParameter, WithDecryption
 *   SSO token                 POST of the client-credentials grant (form body, Basic auth), node:http(s)
 *   OCM page                  GET of one page of the trusted IP list with the token, node:http(s)
 *   GetPolicy, GetPolicyVersion, ListPolicyVersions, ListPolicyTags     IAM, on POLICY_ARN
 *   GetItem, UpdateItem, PutItem, Query, DeleteItem                     DynamoDB, on STATE_TABLE's key shape
 *                                                                       (pk/sk strings; a pk of its own)
 * and reports performance.now() on fd 3 as the function's driver does when its invocation is done.
 */
import { timeProcess } from './processes';
import type { CallCounts, Stage } from './stage';

/** Every request the floor knows how to make minimally, in the order it makes them. */
const ORDER = [
  'GetParameter',
  'SSO token',
  'OCM page',
  'GetPolicy',
  'GetPolicyVersion',
  'ListPolicyVersions',
  'ListPolicyTags',
  'GetItem',
  'Query',
  'UpdateItem',
  'PutItem',
  'DeleteItem',
] as const;

const FLOOR = `
const fs = require('node:fs');
const env = process.env;
const load = require('node:module').createRequire(env.BENCH_BUNDLE);
const calls = JSON.parse(env.BENCH_FLOOR_CALLS);
const has = (...names) => names.some((n) => calls.includes(n));
// The SDK's modules (M) and clients (C): only those the requests need, all created before the first request.
const M = {};
const C = {};
if (has('GetPolicy', 'GetPolicyVersion', 'ListPolicyVersions', 'ListPolicyTags')) C.iam = new (M.iam = load('@aws-sdk/client-iam')).IAMClient({});
if (has('GetParameter')) C.ssm = new (M.ssm = load('@aws-sdk/client-ssm')).SSMClient({});
if (has('GetItem', 'UpdateItem', 'PutItem', 'Query', 'DeleteItem')) C.dynamo = new (M.dynamo = load('@aws-sdk/client-dynamodb')).DynamoDBClient({});
function http(url, method, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = require(u.protocol === 'https:' ? 'node:https' : 'node:http').request(u, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode < 300 ? resolve(text) : reject(new Error(method + ' ' + u.pathname + ': ' + res.statusCode))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const table = env.STATE_TABLE;
const pk = { S: 'bench-floor#' + env.POLICY_ARN };
const key = { pk, sk: { S: 'state' } };
const historyKey = { pk, sk: { S: 'history#000000001' } };
let creds = { clientId: env.OCM_CLIENT_ID, clientSecret: env.OCM_CLIENT_SECRET };
let token = '';
let versionId = 'v1';
const minimal = {
  async 'GetParameter'() {
    const out = await C.ssm.send(new M.ssm.GetParameterCommand({ Name: env.OCM_CREDENTIALS_PARAMETER, WithDecryption: true }));
    creds = JSON.parse(out.Parameter.Value);
  },
  async 'SSO token'() {
    const basic = Buffer.from(creds.clientId + ':' + creds.clientSecret).toString('base64');
    const body = 'grant_type=client_credentials';
    const text = await http(env.OCM_TOKEN_URL, 'POST', { authorization: 'Basic ' + basic, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }, body);
    token = JSON.parse(text).access_token;
  },
  async 'OCM page'() {
    JSON.parse(await http(env.OCM_API_URL + '/api/clusters_mgmt/v1/trusted_ip_addresses?page=1&size=100', 'GET', { authorization: 'Bearer ' + token, accept: 'application/json' }));
  },
  async 'GetPolicy'() {
    versionId = (await C.iam.send(new M.iam.GetPolicyCommand({ PolicyArn: env.POLICY_ARN }))).Policy.DefaultVersionId;
  },
  async 'GetPolicyVersion'() {
    await C.iam.send(new M.iam.GetPolicyVersionCommand({ PolicyArn: env.POLICY_ARN, VersionId: versionId }));
  },
  async 'ListPolicyVersions'() {
    await C.iam.send(new M.iam.ListPolicyVersionsCommand({ PolicyArn: env.POLICY_ARN }));
  },
  async 'ListPolicyTags'() {
    await C.iam.send(new M.iam.ListPolicyTagsCommand({ PolicyArn: env.POLICY_ARN }));
  },
  async 'GetItem'() {
    await C.dynamo.send(new M.dynamo.GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  },
  async 'Query'() {
    await C.dynamo.send(new M.dynamo.QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }));
  },
  async 'UpdateItem'() {
    await C.dynamo.send(new M.dynamo.UpdateItemCommand({ TableName: table, Key: key, UpdateExpression: 'SET updated_at = :u', ExpressionAttributeValues: { ':u': { S: new Date().toISOString() } } }));
  },
  async 'PutItem'() {
    await C.dynamo.send(new M.dynamo.PutItemCommand({ TableName: table, Item: { ...historyKey, record: { S: '{}' } } }));
  },
  async 'DeleteItem'() {
    await C.dynamo.send(new M.dynamo.DeleteItemCommand({ TableName: table, Key: historyKey }));
  },
};
(async () => {
  for (const call of calls) await minimal[call]();
  fs.writeSync(3, JSON.stringify({ uptimeMs: performance.now(), maxRssKb: process.resourceUsage().maxRSS }));
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });
`;

/**
 * The requests of `counts` in the order the floor makes them, or an error naming the first the floor cannot make
 * (an SNS Publish, say: the floor is for the cold unchanged cycle).
 */
export function floorCalls(counts: CallCounts): string[] {
  const unknown = [...counts.keys()].filter((name) => !(ORDER as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`floor: no minimal call for ${unknown.join(', ')}`);
  return ORDER.flatMap((name) => Array.from({ length: counts.get(name) ?? 0 }, () => name));
}

/** One floor process: its uptime when its last request was answered. */
export async function floorRun(stage: Stage, calls: readonly string[]): Promise<{ wallMs: number; uptimeMs: number }> {
  const { wallMs, report } = await timeProcess(['-e', FLOOR], stage.env('invoke', undefined, { BENCH_FLOOR_CALLS: JSON.stringify(calls) }));
  return { wallMs, uptimeMs: (JSON.parse(report) as { uptimeMs: number }).uptimeMs };
}
