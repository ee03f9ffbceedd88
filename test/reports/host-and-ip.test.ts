import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_NAMESPACE, isVisibleFrom } from '../../reports/registry/export-visibility.js';
import { NameAllocator, nameFromHost } from '../../reports/service-entries/service-entry-name.js';
import { hostMatches, normalizeHost } from '../../reports/shared/host-match.js';
import { cidrContains, hostCidr, ipFamily, ipToBigInt } from '../../reports/shared/ip-literal.js';

describe('Istio host matching', () => {
  it.each([
    ['www.google.com', 'www.google.com', true],
    ['WWW.Google.com.', 'www.google.com', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*', 'anything.test', true],
    ['*.example.com', '*.a.example.com', true],
    ['*.a.example.com', '*.example.com', false],
    ['api.example.com', 'a.example.com', false],
  ])('%s matches %s: %s', (pattern, host, expected) => {
    expect(hostMatches(pattern, host)).toBe(expected);
  });

  it('normalises IP literals', () => {
    expect(normalizeHost('[2001:DB8::1]')).toBe('2001:db8::1');
    expect(normalizeHost('fe80::1%eth0')).toBe('fe80::1');
  });
});

describe('IP literals and CIDRs', () => {
  it('families and host CIDRs', () => {
    expect(ipFamily('93.184.215.14')).toBe(4);
    expect(ipFamily('2001:db8::1')).toBe(6);
    expect(ipFamily('example.com')).toBe(0);
    // Forms the hostname shortcut must not turn away, and names that look half like an address.
    expect(ipFamily('[2001:DB8::1]')).toBe(6);
    expect(ipFamily('fe80::1%eth0')).toBe(6);
    expect(ipFamily('::ffff:192.0.2.1')).toBe(6);
    expect(ipFamily(' 192.0.2.1 ')).toBe(4);
    expect(ipFamily('deadbeef')).toBe(0);
    expect(ipFamily('1.2.3')).toBe(0);
    expect(ipFamily('1.2.3.4.example')).toBe(0);
    expect(ipFamily('db:5432')).toBe(0);
    expect(hostCidr('93.184.215.14')).toBe('93.184.215.14/32');
    expect(hostCidr('2001:db8::1')).toBe('2001:db8::1/128');
  });

  it('parses IPv6 forms, including embedded IPv4', () => {
    expect(ipToBigInt('::1')?.value).toBe(1n);
    expect(ipToBigInt('::ffff:1.2.3.4')?.value).toBe((0xffffn << 32n) | 0x01020304n);
    expect(ipToBigInt('64:ff9b::1.2.3.4')?.value).toBe((0x64n << 112n) | (0xff9bn << 96n) | 0x01020304n);
    expect(ipToBigInt('1:2:3:4:5:6:7:8')?.value).toBe(0x00010002000300040005000600070008n);
  });

  it.each([
    ['192.0.2.0/24', '192.0.2.77', true],
    ['192.0.2.0/24', '192.0.3.1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['93.184.215.14', '93.184.215.14', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['192.0.2.0/24', '2001:db8::1', false],
    ['192.0.2.0/33', '192.0.2.1', false],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    expect(cidrContains(cidr, ip)).toBe(expected);
  });

  it('property: an IPv4 /n contains exactly the addresses sharing its first n bits', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (a, b, n) => {
        const text = (x: number) => [24, 16, 8, 0].map((s) => (x >>> s) & 255).join('.');
        const same = n === 0 || a >>> (32 - n) === b >>> (32 - n);
        expect(cidrContains(`${text(a)}/${n}`, text(b))).toBe(same);
      }),
    );
  });
});

describe('exportTo visibility', () => {
  const e = (exportTo?: string[]) => ({ namespace: 'payments', ...(exportTo ? { exportTo } : {}) });
  it.each([
    [undefined, 'shop', true],
    [[], 'shop', true],
    [['*'], 'shop', true],
    [['.'], 'payments', true],
    [['.'], 'shop', false],
    [['shop'], 'shop', true],
    [['shop'], 'payments', false],
    [['~'], 'payments', false],
    [['.'], ANY_NAMESPACE, false],
    [undefined, ANY_NAMESPACE, true],
  ])('exportTo %j from %s: %s', (exportTo, ns, expected) => {
    expect(isVisibleFrom(e(exportTo as string[] | undefined), ns)).toBe(expected);
  });
});

describe('names', () => {
  it('derive from hosts', () => {
    expect(nameFromHost('www.google.com')).toBe('www-google-com');
    expect(nameFromHost('*.example.com')).toBe('wildcard-example-com');
    expect(nameFromHost('-_-')).toBe('service-entry');
  });

  it('allocator suffixes stay within 63 characters', () => {
    const a = new NameAllocator();
    const base = 'a'.repeat(63);
    expect(a.take(base)).toBe(base);
    const second = a.take(base);
    expect(second).toBe(`${'a'.repeat(61)}-2`);
    expect(second.length).toBe(63);
  });
});
