/**
 * The one grammar of sources (lambda/sources/grammar.ts): ALLOWLIST_TARGETS, the CLI's --source and the construct
 * all parse and format sources through it.
 */
import { SOURCE_FORMS, SourceSpec, formatSource, isDeployableSource, parseSource } from '../../lambda/sources/grammar';

describe('parseSource and formatSource', () => {
  test.each<[string, SourceSpec]>([
    ['ocm', { kind: 'ocm' }],
    ['static:192.0.2.0/24', { kind: 'static', entries: ['192.0.2.0/24'] }],
    ['static:192.0.2.0/24,198.51.100.7,2001:db8::/32', { kind: 'static', entries: ['192.0.2.0/24', '198.51.100.7', '2001:db8::/32'] }],
    ['ssm:/allowlists/office-vpn', { kind: 'ssm', parameterName: '/allowlists/office-vpn' }],
    ['ssm:office.vpn-list_2', { kind: 'ssm', parameterName: 'office.vpn-list_2' }],
    ['file:ips.json', { kind: 'file', path: 'ips.json' }],
    ['file:/var/lib/allowlist/ocm.json', { kind: 'file', path: '/var/lib/allowlist/ocm.json' }],
  ])('%s round-trips', (text, spec) => {
    expect(parseSource(text)).toEqual(spec);
    expect(formatSource(spec)).toBe(text);
    expect(parseSource(formatSource(spec))).toEqual(spec);
  });

  test('a static list may be split by commas and spaces; it is formatted with commas only', () => {
    const spec = parseSource('static: 192.0.2.0/24 ,198.51.100.7  2001:db8::/32,');
    expect(spec).toEqual({ kind: 'static', entries: ['192.0.2.0/24', '198.51.100.7', '2001:db8::/32'] });
    expect(formatSource(spec as SourceSpec)).toBe('static:192.0.2.0/24,198.51.100.7,2001:db8::/32');
  });

  test('only the first colon separates the form from its argument', () => {
    expect(parseSource('file:C:/allowlists/ips.json')).toEqual({ kind: 'file', path: 'C:/allowlists/ips.json' });
    expect(parseSource('static:2001:db8::/32')).toEqual({ kind: 'static', entries: ['2001:db8::/32'] });
    expect(formatSource({ kind: 'file', path: 'C:/allowlists/ips.json' })).toBe('file:C:/allowlists/ips.json');
  });

  test('an entry is not checked here: the sync validates every entry, with its source', () => {
    expect(parseSource('static:not-an-ip')).toEqual({ kind: 'static', entries: ['not-an-ip'] });
  });

  test.each([
    'OCM',
    'ocm:',
    'ocm:extra',
    'static:',
    'static:, ,',
    'ssm:',
    'ssm:bad name',
    'ssm:a*b',
    'file:',
    's3:bucket/ips.json',
    'https://example.com/ips.json',
    '192.0.2.0/24',
    '',
  ])('%j is refused, naming every form', (text) => {
    expect(parseSource(text)).toBe(`"${text}" is not a source: expected ${SOURCE_FORMS}`);
  });

  test('SOURCE_FORMS names each form', () => {
    expect(SOURCE_FORMS).toBe('ocm, static:CIDR,CIDR..., ssm:PARAMETER_NAME or file:PATH');
  });
});

describe('isDeployableSource', () => {
  test('every form but a file (the function\'s disk does not outlive its container)', () => {
    const kinds = ['ocm', 'static:192.0.2.0/24', 'ssm:/x', 'file:ips.json'].map((t) => parseSource(t) as SourceSpec);
    expect(kinds.map(isDeployableSource)).toEqual([true, true, true, false]);
  });
});
