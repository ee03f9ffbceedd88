import { describe, expect, it } from 'vitest';
import { Document, parseAllDocuments } from 'yaml';
import { yamlComment, yamlScalar, yamlText } from '../../reports/shared/yaml-text.js';

/** Strings a careless emitter would write plain and a YAML 1.1 or 1.2 reader would not read back as strings. */
const TRICKY = [
  '',
  ' ',
  'yes',
  'Yes',
  'NO',
  'on',
  'Off',
  'y',
  'n',
  'true',
  'False',
  'null',
  'Null',
  '~',
  '<<',
  '1',
  '-1',
  '+1',
  '0777',
  '0o17',
  '0x1F',
  '0b101',
  '1_000',
  '1:20',
  '1:20.5',
  '1e3',
  '.5',
  '1.',
  '.inf',
  '-.Inf',
  '.nan',
  '2026-01-10',
  '2026-01-10T10:00:00.000Z',
  '2026-1-1 10:00:00',
  '- x',
  '-',
  '?',
  '? x',
  'a: b',
  'a #b',
  '#x',
  '*.example.com',
  '&a',
  '!tag',
  '|',
  '>',
  "'q'",
  '"q"',
  '%x',
  '@x',
  '`x`',
  '[x]',
  '{x}',
  ',x',
  'x:',
  'x ',
  '---',
  '...',
  'a\nb',
  'tab\there',
  'cr\rhere',
  'nul\u0000',
  'del\u007f',
  'nel\u0085',
  'ls\u2028ps\u2029',
  'lone \ud800 surrogate',
  'ünïcödé',
  '漢字',
  '😀',
  'ns/wl',
  'a,b',
  'a=b',
  'x<-1.2.3.4 (confidence 0.9)',
];

describe('yamlScalar / yamlText', () => {
  it('every tricky string reads back as the same string under YAML 1.1 and 1.2', () => {
    const doc = { a: { list: TRICKY, map: Object.fromEntries(TRICKY.map((t, i) => [`k${i}`, t])) } };
    const text = yamlText(doc);
    for (const version of ['1.1', '1.2'] as const) {
      const [parsed] = parseAllDocuments(text, { version });
      expect(parsed!.errors).toEqual([]);
      // The lone surrogate cannot be UTF-8: it is escaped, and reads back as the same UTF-16 unit.
      expect(parsed!.toJS()).toEqual(doc);
    }
  });

  it('writes what the yaml library writes for ordinary values', () => {
    const value = {
      apiVersion: 'networking.istio.io/v1',
      metadata: { name: 'x', annotations: { 'egresslens.io/requests': '12', empty: '' } },
      spec: {
        hosts: ['*.example.com'],
        ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
        empty: [],
        none: {},
        flag: true,
      },
    };
    expect(yamlText(value)).toBe(new Document(value, { version: '1.1' }).toString({ lineWidth: 0 }));
  });

  it('puts key comments before their key and writes numbers, booleans and null plainly', () => {
    const text = yamlText(
      { spec: { addresses: ['1.2.3.4/32'], count: 5, ok: false, nothing: null } },
      { keyComments: new Map([['spec.addresses', ['why']]]) },
    );
    expect(text).toBe(
      'spec:\n  # why\n  addresses:\n    - 1.2.3.4/32\n  count: 5\n  ok: false\n  nothing: null\n',
    );
    expect(yamlComment(['a', ''], '  ')).toBe('  # a\n  #\n');
    expect(yamlScalar(Number.NaN)).toBe('"NaN"');
  });
});
