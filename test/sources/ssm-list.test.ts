import { GetParameterCommand, InternalServerError, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SyncError } from '../../lambda/errors';
import { parseParameterList, ssmListSource } from '../../lambda/sources/ssm-list';

const NAME = '/allowlist-sync/extra-cidrs';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const ssm = new SSMClient({ region: 'us-east-1', credentials: CREDENTIALS });
const ssmMock = mockClient(ssm);

beforeEach(() => ssmMock.reset());

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('parseParameterList', () => {
  test('splits on commas, spaces and newlines; drops # comments to the end of their line', () => {
    const value = ['# office and VPN egress', '192.0.2.0/24, 198.51.100.7 # VPN', '', '\t2001:DB8::/32,,', '#10.0.0.0/8 retired', '203.0.113.9\r\n203.0.113.10'].join('\n');
    expect(parseParameterList(value)).toEqual(['192.0.2.0/24', '198.51.100.7', '2001:DB8::/32', '203.0.113.9', '203.0.113.10']);
  });

  test('reads a StringList value (comma-separated) the same way', () => {
    expect(parseParameterList('192.0.2.0/24,198.51.100.7,2001:db8::/32')).toEqual(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32']);
  });

  test('a value of comments only gives no entries (the plan then refuses an empty list)', () => {
    expect(parseParameterList('# nothing yet\n  # still nothing')).toEqual([]);
  });
});

describe('ssmListSource', () => {
  test.each(['String', 'StringList'] as const)('gives the entries of a %s parameter under its name, decrypting', async (Type) => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Type, Value: '192.0.2.0/24,198.51.100.7', Version: 3 } });
    const source = ssmListSource(ssm, NAME);
    expect(source.name).toBe(`ssm:${NAME}`);
    await expect(source.fetch()).resolves.toEqual({
      source: `ssm:${NAME}`,
      entries: [
        { value: '192.0.2.0/24', source: `ssm:${NAME}` },
        { value: '198.51.100.7', source: `ssm:${NAME}` },
      ],
      skipped: 0,
    });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: NAME, WithDecryption: true });
  });

  test('reads afresh on every fetch: an edit shows in the next run', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce({ Parameter: { Value: '192.0.2.1' } }).resolves({ Parameter: { Value: '192.0.2.2' } });
    const source = ssmListSource(ssm, NAME);
    expect((await source.fetch()).entries.map((e) => e.value)).toEqual(['192.0.2.1']);
    expect((await source.fetch()).entries.map((e) => e.value)).toEqual(['192.0.2.2']);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  test('a missing parameter names it and says how to create it', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: {} }));
    const err = await rejection(ssmListSource(ssm, NAME).fetch());
    expect(err).toBeInstanceOf(SyncError);
    expect(err).toMatchObject({ code: 'ssm-parameter-not-found', message: expect.stringContaining(`"${NAME}"`) });
    expect((err as Error).message).toContain('aws ssm put-parameter --type StringList');
  });

  test('access denied names the parameter and the permission to grant', async () => {
    ssmMock.on(GetParameterCommand).rejects(
      new SSMServiceException({ name: 'AccessDeniedException', $fault: 'client', message: `User: arn:aws:sts::123456789012:assumed-role/sync/fn is not authorized to perform: ssm:GetParameter on resource: ${NAME}`, $metadata: { httpStatusCode: 400 } }),
    );
    const err = await rejection(ssmListSource(ssm, NAME).fetch());
    expect(err).toMatchObject({ code: 'ssm-access-denied', message: expect.stringContaining(NAME) });
    expect((err as Error).message).toContain('Grant ssm:GetParameter');
  });

  test('any other failure is ssm-error, naming the parameter', async () => {
    ssmMock.on(GetParameterCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    await expect(ssmListSource(ssm, NAME).fetch()).rejects.toMatchObject({ code: 'ssm-error', message: expect.stringContaining(NAME) });
  });

  test('a parameter without a value is ssm-error', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME } });
    await expect(ssmListSource(ssm, NAME).fetch()).rejects.toMatchObject({ code: 'ssm-error' });
  });
});
