import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** What the function may do to the state table: its own items, nothing else (no scans, no table changes). */
export const STATE_TABLE_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'];

/**
 * The state table (id `StateTable`): the tool's memory, apart from the resources it protects. Items are keyed
 * `pk` = `target#<document key>`, `sk` = `state` or `history#<revision>` (lambda/state/dynamodb-store.ts).
 * On-demand, point-in-time recovery, encrypted; retained, because owed announcements and the removal baseline
 * must survive a stack deletion and recreation. Encrypted with `key` when one is given, else DynamoDB's AWS managed key.
 */
export function addStateTable(scope: Construct, key?: IKey): dynamodb.Table {
  return new dynamodb.Table(scope, 'StateTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(key ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key } : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
