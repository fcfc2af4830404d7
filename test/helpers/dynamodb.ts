/**
 * A real DynamoDB for tests: dynalite (an implementation of the DynamoDB API on LevelDB, in memory here) on an
 * ephemeral port of 127.0.0.1, with the state table the stack creates (partition key `pk`, sort key `sk`, both
 * strings). Conditional writes, ReturnValues and queries behave as DynamoDB's do, so the lease is really tested.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Fake credentials: dynalite checks that requests are signed, not by whom. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-only' };

interface DynaliteServer {
  listen(port: number, host: string, callback: () => void): void;
  address(): AddressInfo | string | null;
  close(callback: () => void): void;
}

/** One dynalite server and its table. */
export class LocalDynamo {
  private constructor(
    private readonly server: DynaliteServer,
    readonly endpoint: string,
    readonly table: string,
  ) {}

  /** Starts dynalite and creates the table. */
  static async start(table = 'allowlist-sync-state'): Promise<LocalDynamo> {
    // dynalite has no type declarations; it is a function returning an http.Server.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite') as (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => DynaliteServer;
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const local = new LocalDynamo(server, `http://127.0.0.1:${port}`, table);
    await local.createTable();
    return local;
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
