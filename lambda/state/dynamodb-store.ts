import {
  AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SyncError, describeError } from '../errors';
import type { HistoryRecord, Lease, LeaseOutcome, StateStore, TargetPatch, TargetRecord } from './types';

/*
 * Item design (one table, partition key `pk`, sort key `sk`, both strings):
 *
 *   pk = target#<document key>   sk = state              one item per target: alert, outbox, baseline, refusals,
 *                                                         pause, resumed, lastRun, revision (each a JSON string attribute),
 *                                                         and the lease as lease_holder / lease_expires / lease_at
 *   pk = target#<document key>   sk = history#<000007>   one item per replaced document of an unversioned target
 *   pk = deployment#<function>   sk = state              the alert state of a configuration failure
 *   pk = idempotency#<function>  sk = <hash>             Powertools Idempotency records (event delivered twice)
 *
 * The document key is the target's one-writer key (a policy ARN, `trust:ROLE`, `inline:ROLE/POLICY`), so the
 * function and the CLI share one record per document. JSON strings keep every field readable in the console.
 */

const JSON_FIELDS = ['alert', 'outbox', 'baseline', 'refusals', 'pause', 'resumed', 'lastRun', 'revision', 'attachments', 'skipped'] as const;
type JsonField = (typeof JSON_FIELDS)[number];

const STATE_SK = 'state';
const HISTORY_PREFIX = 'history#';

/** The partition key of a target's items. */
export function targetPk(key: string): string {
  return `target#${key}`;
}

function failure(err: unknown, action: string, table: string): SyncError {
  if (err instanceof SyncError) return err;
  const name = err instanceof Error ? err.name : 'Error';
  if (name === 'ResourceNotFoundException') {
    return new SyncError('state-table-missing', `The state table ${table} does not exist (dynamodb:${action}).`, 'Check STATE_TABLE (or --state-table) and the AWS region; the stack creates the table.', { cause: err });
  }
  if (/AccessDenied|not authorized/i.test(`${name} ${describeError(err)}`)) {
    return new SyncError('state-access-denied', `Not allowed to dynamodb:${action} on the state table ${table}: ${describeError(err)}.`, `Allow dynamodb:${action} on the table for this role (only the sync function's role may write it).`, { cause: err });
  }
  return new SyncError('state-error', `dynamodb:${action} on the state table ${table} failed: ${name}: ${describeError(err)}.`, 'The run stopped there; the next run tries again.', { cause: err });
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // A hand edit in the console: treat the field as absent rather than fail every run (alerting again beats silence).
    return undefined;
  }
}

function toRecord(item: Record<string, AttributeValue> | undefined): TargetRecord {
  if (!item) return {};
  const record: Record<string, unknown> = {};
  for (const field of JSON_FIELDS) {
    const value = parseJson(item[field]?.S);
    if (value !== undefined) record[field] = value;
  }
  const holder = item.lease_holder?.S;
  const expires = Number(item.lease_expires?.N);
  if (holder && Number.isFinite(expires)) record.lease = { holder, expiresAt: expires, acquiredAt: item.lease_at?.S ?? '' } satisfies Lease;
  return record as TargetRecord;
}

/** State in a DynamoDB table: conditional writes make the lease real across the function and the CLI. */
export function dynamoStateStore(client: DynamoDBClient, table: string): StateStore {
  const stateKey = (key: string): Record<string, AttributeValue> => ({ pk: { S: targetPk(key) }, sk: { S: STATE_SK } });

  async function getState(key: string): Promise<TargetRecord> {
    try {
      const out = await client.send(new GetItemCommand({ TableName: table, Key: stateKey(key), ConsistentRead: true }));
      return toRecord(out.Item);
    } catch (err) {
      throw failure(err, 'GetItem', table);
    }
  }

  return {
    description: `DynamoDB table ${table}`,
    load: getState,

    async update(key, patch: TargetPatch, options = {}) {
      const set: string[] = ['updated_at = :updated_at'];
      const remove: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, AttributeValue> = { ':updated_at': { S: new Date().toISOString() } };
      for (const [field, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (field === 'lease') {
          if (value === null) remove.push('lease_holder', 'lease_expires', 'lease_at');
          else {
            const lease = value as Lease;
            set.push('lease_holder = :lh', 'lease_expires = :le', 'lease_at = :la');
            Object.assign(values, { ':lh': { S: lease.holder }, ':le': { N: String(lease.expiresAt) }, ':la': { S: lease.acquiredAt } });
          }
          continue;
        }
        if (!(JSON_FIELDS as readonly string[]).includes(field)) continue;
        names[`#${field}`] = field;
        if (value === null) remove.push(`#${field}`);
        else {
          set.push(`#${field} = :${field}`);
          values[`:${field}`] = { S: JSON.stringify(value) };
        }
      }
      if (options.leaseHolder !== undefined) values[':holder'] = { S: options.leaseHolder };
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: stateKey(key),
            UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ...(options.leaseHolder !== undefined ? { ConditionExpression: 'lease_holder = :holder' } : {}),
          }),
        );
        return true;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return false;
        throw failure(err, 'UpdateItem', table);
      }
    },

    async acquireLease(key, holder, expiresAt, now): Promise<LeaseOutcome> {
      const lease: Lease = { holder, expiresAt, acquiredAt: new Date(now).toISOString() };
      try {
        const out = await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: stateKey(key),
            UpdateExpression: 'SET lease_holder = :h, lease_expires = :e, lease_at = :a',
            // The record as it stands once the lease is ours: no second read before writing.
            ReturnValues: 'ALL_NEW',
            // Free, expired, or already ours (a retry of our own request).
            ConditionExpression: 'attribute_not_exists(lease_holder) OR lease_expires < :now OR lease_holder = :h',
            ExpressionAttributeValues: { ':h': { S: holder }, ':e': { N: String(expiresAt) }, ':a': { S: lease.acquiredAt }, ':now': { N: String(now) } },
          }),
        );
        return { ok: true, lease, record: toRecord(out.Attributes) };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw failure(err, 'UpdateItem', table);
      }
      const current = (await getState(key)).lease;
      // Released between our attempt and the read: say so as busy for a moment; the caller may try again.
      return { ok: false, holder: current ?? { holder: '(released meanwhile)', expiresAt: now, acquiredAt: '' } };
    },

    async releaseLease(key, holder) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: stateKey(key),
            UpdateExpression: 'REMOVE lease_holder, lease_expires, lease_at',
            ConditionExpression: 'lease_holder = :h',
            ExpressionAttributeValues: { ':h': { S: holder } },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw failure(err, 'UpdateItem', table);
      }
    },

    async addHistory(key, record: HistoryRecord, keep, protect) {
      const number = Number(record.revision.replace(/^r/, ''));
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: targetPk(key) }, sk: { S: `${HISTORY_PREFIX}${String(number).padStart(9, '0')}` }, record: { S: JSON.stringify(record) } },
          }),
        );
      } catch (err) {
        throw failure(err, 'PutItem', table);
      }
      const all = await this.history(key);
      for (const old of all.slice(keep)) {
        if (protect.includes(old.revision)) continue;
        const n = Number(old.revision.replace(/^r/, ''));
        try {
          await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: targetPk(key) }, sk: { S: `${HISTORY_PREFIX}${String(n).padStart(9, '0')}` } } }));
        } catch (err) {
          throw failure(err, 'DeleteItem', table);
        }
      }
    },

    async history(key) {
      const records: HistoryRecord[] = [];
      let start: Record<string, AttributeValue> | undefined;
      try {
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
              ExpressionAttributeValues: { ':pk': { S: targetPk(key) }, ':prefix': { S: HISTORY_PREFIX } },
              ScanIndexForward: false,
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? []) {
            const record = parseJson(item.record?.S) as HistoryRecord | undefined;
            if (record) records.push(record);
          }
          start = page.LastEvaluatedKey;
        } while (start);
      } catch (err) {
        throw failure(err, 'Query', table);
      }
      return records;
    },
  };
}

/** The DynamoDB client of the state store; AWS_ENDPOINT_URL(_DYNAMODB) and the SDK's usual configuration apply. */
export function createDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

/** The fields a record carries as JSON, for tests and docs. */
export const STATE_JSON_FIELDS: readonly JsonField[] = JSON_FIELDS;
