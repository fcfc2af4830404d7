import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { lazySnsClient, snsPublisher } from '../../lambda/alerts/publisher';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:alerts';
const MESSAGE = { event: 'updated', subject: 'allowlist-sync: x updated (+1 -0)', body: 'body' } as const;

describe('snsPublisher with a client made on first use', () => {
  const sns = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'x' } });
  const snsMock = mockClient(sns);
  beforeEach(() => snsMock.reset());

  test('no publish, no client: the factory is not called until an alert is sent (lazySnsClient memoizes what it makes)', async () => {
    const factory = jest.fn(async () => sns);
    const publisher = snsPublisher(factory, TOPIC);
    expect(publisher.enabled).toBe(true);
    expect(factory).not.toHaveBeenCalled();

    await publisher.publish(MESSAGE as never);
    await publisher.publish(MESSAGE as never);
    expect(factory).toHaveBeenCalledTimes(2);
    expect(snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toEqual([TOPIC, TOPIC]);
  });

  test('lazySnsClient builds one client and hands the same one out again', async () => {
    const lazy = lazySnsClient();
    const first = await lazy();
    expect(first).toBeInstanceOf(SNSClient);
    expect(await lazy()).toBe(first);
    first.destroy();
  });

  test('a client that cannot be made is an alert-publish-failed error naming the topic', async () => {
    const publisher = snsPublisher(async () => {
      throw new Error('no region');
    }, TOPIC);
    const err = await publisher.publish(MESSAGE as never).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'alert-publish-failed' });
    expect((err as Error).message).toMatch(new RegExp(`^Could not publish the "updated" alert to ${TOPIC}: .*no region`));
  });
});
