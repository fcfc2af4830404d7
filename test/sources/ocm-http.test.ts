import { decodeJwtExp } from '../../lambda/sources/ocm-auth';
import { parseRetryAfter } from '../../lambda/sources/ocm-http';
import { SecretRedactor, displayUrl, redactingLogger } from '../../lambda/sources/ocm-redact';
import { fakeJwt } from '../helpers/ocm-server';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  test.each([
    ['5', 5000],
    [' 0 ', 0],
    ['Wed, 01 Jan 2025 00:00:07 GMT', 7000],
    ['Tue, 31 Dec 2024 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-3', undefined],
    ['1.5', undefined],
    [undefined, undefined],
  ])('%j -> %j ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});

describe('displayUrl', () => {
  test('drops user info and masks secret-looking query values', () => {
    expect(displayUrl('https://u:p@api.example.com/x?page=2&access_token=abc&client_secret=def&size=100#frag')).toBe(
      'https://api.example.com/x?page=2&access_token=%5Bredacted%5D&client_secret=%5Bredacted%5D&size=100',
    );
    expect(displayUrl('not a url')).toBe('(unparseable URL)');
  });
});

describe('SecretRedactor', () => {
  test('replaces every occurrence of known secrets', () => {
    const r = new SecretRedactor();
    r.add('s3cr3t-value', undefined, '');
    expect(r.redact('x s3cr3t-value y s3cr3t-value')).toBe('x [redacted] y [redacted]');
  });

  test('knows a secret as sent and echoed: URL-encoded, form-encoded (+ for spaces), base64 and base64url', () => {
    const secret = 'Zq8/x+v3=Lm 9~Pw2!?';
    const r = new SecretRedactor();
    r.add(secret);
    const forms = [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ client_secret: secret }).toString().slice('client_secret='.length),
      encodeURIComponent(secret).toLowerCase(),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
    ];
    expect(new Set(forms).size).toBe(forms.length);
    for (const form of forms) expect(r.redact(`<${form}>`)).toBe('<[redacted]>');
  });

  test('knows the Basic credentials of a client id and secret, in their encodings too', () => {
    const r = new SecretRedactor();
    r.addBasic('svc-1', 'Zq8/x+v3=Lm9~Pw2');
    const basic = Buffer.from('svc-1:Zq8/x+v3=Lm9~Pw2').toString('base64');
    expect(r.redact(`Authorization: Basic ${basic}`)).toBe('Authorization: Basic [redacted]');
    expect(r.redact(`auth=Basic%20${encodeURIComponent(basic)}`)).toBe('auth=Basic%20[redacted]');
    expect(r.redact('secret Zq8/x+v3=Lm9~Pw2')).toBe('secret [redacted]');
  });

  test('a secret of exactly 6 characters is redacted anywhere, even glued to other letters', () => {
    const r = new SecretRedactor();
    r.add('q7Zr2x');
    expect(r.redact('keyq7Zr2xend q7Zr2x')).toBe('key[redacted]end [redacted]');
  });

  test('a shorter secret is redacted wherever it stands as a whole token, and only there', () => {
    const r = new SecretRedactor();
    r.add('shh12');
    expect(r.redact('client_secret=shh12&grant_type=x, "shh12", Basic shh12')).toBe('client_secret=[redacted]&grant_type=x, "[redacted]", Basic [redacted]');
    expect(r.redact('ashh12b shh123')).toBe('ashh12b shh123');
  });

  test('a secret behind JSON or HTML escapes is found, and the text quoted decoded', () => {
    const r = new SecretRedactor();
    r.add('ab/cd+ef=gh');
    expect(r.redact('{"got":"ab\\/cd+ef=gh"}')).toBe('{"got":"[redacted]"}');
    expect(r.redact('got \\u0061b\\/cd\\u002bef=gh')).toBe('got [redacted]');
    expect(r.redact('<title>ab&#x2F;cd&#43;ef&equals;gh</title>')).toBe('<title>[redacted]</title>');
    expect(r.redact('a \\/ and &amp; stay as they are')).toBe('a \\/ and &amp; stay as they are');
  });

  test('quote redacts before it cuts, so no half of a secret is left at the cut', () => {
    const r = new SecretRedactor();
    r.add('0123456789abcdef');
    expect(r.quote(`${'x'.repeat(15)}0123456789abcdef`, 20)).toBe(`${'x'.repeat(15)}[red…`);
  });

  test('a redacting logger scrubs the message and every string in its extras', () => {
    const r = new SecretRedactor();
    r.add('s3cr3t-value');
    const lines: unknown[] = [];
    const log = redactingLogger({ debug: () => undefined, info: (m, ...e) => lines.push(m, ...e), warn: () => undefined }, r);
    log.info('got s3cr3t-value', { problem: 'echo s3cr3t-value', nested: { list: ['s3cr3t-value', 3] } });
    expect(lines).toEqual(['got [redacted]', { problem: 'echo [redacted]', nested: { list: ['[redacted]', 3] } }]);
  });
});

describe('decodeJwtExp', () => {
  test('reads exp from a JWT payload, and nothing from anything else', () => {
    expect(decodeJwtExp(fakeJwt(1_900_000_000))).toBe(1_900_000_000);
    expect(decodeJwtExp(fakeJwt(undefined))).toBeUndefined();
    expect(decodeJwtExp('opaque-token')).toBeUndefined();
    expect(decodeJwtExp('a.%%%.c')).toBeUndefined();
  });
});
