/**
 * A real DynamoDB for tests: dynalite (an implementation of the DynamoDB API on LevelDB, in memory here) on an
 * ephemeral port of 127.0.0.1, with the state table the stack creates (partition key `pk`, sort key `sk`, both
 * strings). Conditional writes, ReturnValues and queries behave as DynamoDB's do, so the lease is really tested.
 * Every request is recorded by operation (`calls`, so a benchmark can count round trips), and `latencyMs` (default
 * 0) delays each request before dynalite handles it, to model DynamoDB's latency.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Fake credentials: dynalite checks that requests are signed, not by whom. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-only' };

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** The operation of a DynamoDB request: `x-amz-target: DynamoDB_20120810.GetItem` is `GetItem`. */
export function dynamoOperation(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value ? value.slice(value.indexOf('.') + 1) : '(none)';
}

/** One dynalite server and its table. */
export class LocalDynamo {
  /** Every request received (including this helper's own CreateTable/DeleteTable), by operation, in order. */
  readonly calls: string[] = [];
  /** Milliseconds each request waits before dynalite handles it; 0 (the default) answers at once. */
  latencyMs = 0;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    readonly table: string,
  ) {}

  /** Starts dynalite and creates the table. */
  static async start(table = 'allowlist-sync-state', options: { latencyMs?: number } = {}): Promise<LocalDynamo> {
    // dynalite has no type declarations; it is a function returning an http.Server.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    // dynalite's own handler moves behind one that counts each request and applies the latency first.
    const handlers = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const local = new LocalDynamo(server, `http://127.0.0.1:${port}`, table);
    local.latencyMs = options.latencyMs ?? 0;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      local.calls.push(dynamoOperation(req));
      const answer = (): void => handlers.forEach((h) => h(req, res));
      if (local.latencyMs > 0) setTimeout(answer, local.latencyMs);
      else answer();
    });
    await local.createTable();
    return local;
  }

  /** How many requests of each operation were received so far. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const op of this.calls) counts.set(op, (counts.get(op) ?? 0) + 1);
    return counts;
  }

  /** A client of this server (region and credentials fixed, so the environment does not matter). */
  client(): DynamoDBClient {
    return new DynamoDBClient({ endpoint: this.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  }

  /** The environment the function or CLI needs to use this table through the SDK's own configuration. */
  env(): Record<string, string> {
    return {
      STATE_TABLE: this.table,
      AWS_ENDPOINT_URL_DYNAMODB: this.endpoint,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
  }

  private async createTable(): Promise<void> {
    const client = this.client();
    try {
      await client.send(
        new CreateTableCommand({
          TableName: this.table,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } finally {
      client.destroy();
    }
  }

  /** Empties the table (drops and creates it again: instant in dynalite). */
  async reset(): Promise<void> {
    const client = this.client();
    try {
      await client.send(new DeleteTableCommand({ TableName: this.table }));
    } finally {
      client.destroy();
    }
    await this.createTable();
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
