import { decodeJwtExp } from '../../lambda/sources/ocm-auth';
import { SecretRedactor, displayUrl, parseRetryAfter } from '../../lambda/sources/ocm-http';
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
  test('replaces every occurrence of known secrets, ignoring very short ones', () => {
    const r = new SecretRedactor();
    r.add('s3cr3t-value', 'abc', undefined);
    expect(r.redact('x s3cr3t-value y s3cr3t-value abc')).toBe('x [redacted] y [redacted] abc');
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
