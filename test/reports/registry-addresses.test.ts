/**
 * Registry coverage of IP and network (CIDR) suggestions by the `addresses` of existing ServiceEntries: whole,
 * in part (some addresses, some ports, some namespaces), IPv4 and IPv6, IPv4-mapped. Every YAML written here
 * goes through Istio's validator (last test).
 */
import { describe, expect, it } from 'vitest';
import type { RegistryEntry } from '../../reports/registry/registry.js';
import { diffAgainstRegistry } from '../../reports/registry/registry-diff.js';
import { buildCidrSuggestions } from '../../reports/service-entries/cidr-groups.js';
import type { IpGroup } from '../../reports/service-entries/passthrough-traffic.js';
import { toTable, toYaml } from '../../reports/service-entries/service-entry-yaml.js';
import { suggestServiceEntries } from '../../reports/service-entries/suggest-service-entries.js';
import type { DestinationTraffic } from '../../reports/shared/destination.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { registryEntry } from './registry-entries.js';
import { tcp, tls } from './traffic.js';

const apiVersion = 'networking.istio.io/v1' as const;

/** An entry that declares `addresses` (resolution NONE) for a host of its own name. */
function entry(
  name: string,
  addresses: string[],
  ports: number[],
  over: Partial<RegistryEntry> = {},
): RegistryEntry {
  return registryEntry(name, [`${name}.internal`], ports, { addresses, resolution: 'NONE', ...over });
}

/** A network group as the engine returns it: one row per port, host = the network. */
function group(cidr: string, ports: number[], ips: string[], namespaces = ['shop']): IpGroup {
  return {
    cidr,
    family: cidr.includes(':') ? 6 : 4,
    ports,
    ipCount: ips.length,
    exampleIps: ips,
    traffic: ports.map(
      (port): DestinationTraffic =>
        tcp(cidr, port, { namespaces, workloads: namespaces.map((n) => `${n}/app`), ip: ips[0] }),
    ),
  };
}

function diffOf(groups: IpGroup[], registry: RegistryEntry[]) {
  const suggestions = buildCidrSuggestions(groups, { apiVersion });
  const traffic = groups.flatMap((g) => g.traffic);
  const diff = diffAgainstRegistry(suggestions, traffic, registry);
  recordIstioYaml(
    expect.getState().currentTestName ?? 'registry-addresses',
    toYaml(diff.missing, { apiVersion }),
  );
  return { suggestions, diff };
}

const net24 = group('52.0.1.0/24', [443], ['52.0.1.5', '52.0.1.200']);

describe('a network suggestion against registry addresses', () => {
  it('covered when a registry network contains it and declares its ports', () => {
    const wide = entry('aws', ['52.0.0.0/16'], [443]);
    const { suggestions, diff } = diffOf([net24], [wide]);
    expect(diff.covered).toEqual([{ suggestion: suggestions[0], entry: wide, entries: [wide] }]);
    expect(diff.missing).toEqual([]);
    expect(diff.partiallyCovered).toEqual([]);
    expect(diff.unused).toEqual([]);
  });

  it('covered by two entries that hold a half each', () => {
    const low = entry('low', ['52.0.1.0/25'], [443]);
    const high = entry('high', ['52.0.1.128/25'], [443]);
    const { diff } = diffOf([net24], [low, high]);
    expect(diff.covered).toHaveLength(1);
    expect(diff.covered[0]!.entries.map((e) => e.name).sort()).toEqual(['high', 'low']);
  });

  it('a registry network inside the suggested one covers part of it: the rest is suggested again', () => {
    const half = entry('half', ['52.0.1.0/25'], [443]);
    const { suggestions, diff } = diffOf([net24], [half]);
    expect(diff.covered).toEqual([]);
    const [p] = diff.partiallyCovered;
    expect(p!.suggestion).toBe(suggestions[0]);
    expect(p!.entries).toEqual([half]);
    expect(p!.uncoveredPorts).toEqual([]);
    expect(p!.uncoveredAddresses).toEqual(['52.0.1.128/25']);
    expect(p!.reason).toBe(
      'port 443: default/half (addresses 52.0.1.0/25) covers only part of 52.0.1.0/24; not 52.0.1.128/25',
    );
    expect(diff.missing).toEqual([p!.remainder]);
    const spec = p!.remainder.resource.spec;
    expect(spec.addresses).toEqual(['52.0.1.128/25']);
    expect(spec.ports.map((x) => x.number)).toEqual([443]);
    expect(spec.resolution).toBe('NONE');
    expect(p!.remainder.kind).toBe('cidr');
    expect(p!.remainder.resource.metadata.annotations['egresslens.io/cidr']).toBe('52.0.1.128/25');
    expect(p!.remainder.evidence.ips).toEqual(['52.0.1.200']);
    expect(p!.remainder.resource.metadata.annotations['egresslens.io/example-ips']).toBe('52.0.1.200');
    expect(p!.remainder.warnings.join(' ')).toMatch(/Narrowed from 52\.0\.1\.0\/24 to 52\.0\.1\.128\/25/);
    expect(p!.remainder.warnings[0]).toMatch(/^Only the part of net-52-0-1-0-24\.external that the registry/);
  });

  it('a registry network without one of the ports: that port on the whole network is suggested again', () => {
    const g = group('52.0.1.0/24', [443, 5432], ['52.0.1.5', '52.0.1.9']);
    const https = entry('aws', ['52.0.0.0/16'], [443]);
    const { diff } = diffOf([g], [https]);
    const [p] = diff.partiallyCovered;
    expect(p!.uncoveredPorts).toEqual([5432]);
    expect(p!.uncoveredAddresses).toEqual(['52.0.1.0/24']);
    expect(p!.reason).toBe('port 5432 is not declared (default/aws declares 443)');
    const spec = p!.remainder.resource.spec;
    expect(spec.addresses).toEqual(['52.0.1.0/24']);
    expect(spec.ports.map((x) => x.number)).toEqual([5432]);
    expect(p!.remainder.evidence.ports.map((x) => x.number)).toEqual([5432]);
    expect(p!.remainder.evidence.requests).toBe(10);
  });

  it('one port covered in part, another not at all: the remainder declares both on the union of what is left', () => {
    const g = group('52.0.1.0/24', [443, 5432], ['52.0.1.5', '52.0.1.200']);
    const half = entry('half', ['52.0.1.0/25'], [443]);
    const { diff } = diffOf([g], [half]);
    const [p] = diff.partiallyCovered;
    expect(p!.uncoveredPorts).toEqual([5432]);
    expect(p!.uncoveredAddresses).toEqual(['52.0.1.0/24']);
    expect(p!.reason).toBe(
      'port 443: default/half (addresses 52.0.1.0/25) covers only part of 52.0.1.0/24; not 52.0.1.128/25; ' +
        'port 5432 is not declared (default/half declares 443)',
    );
    expect(p!.remainder.resource.spec.addresses).toEqual(['52.0.1.0/24']);
    expect(p!.remainder.resource.spec.ports.map((x) => x.number)).toEqual([443, 5432]);
  });

  it('a registry network exported elsewhere: the remainder is exported to the namespaces that cannot see it', () => {
    const own = entry('own', ['52.0.0.0/16'], [443], { namespace: 'payments', exportTo: ['.'] });
    const g = group('52.0.1.0/24', [443], ['52.0.1.5', '52.0.1.9'], ['payments', 'shop']);
    const { diff } = diffOf([g], [own]);
    const [p] = diff.partiallyCovered;
    expect(p!.hiddenFrom).toEqual([{ port: 443, namespaces: ['shop'] }]);
    expect(p!.remainder.resource.spec.exportTo).toEqual(['shop']);
    expect(p!.remainder.resource.spec.addresses).toEqual(['52.0.1.0/24']);
  });

  it('no overlap → missing, unchanged; an overlapping entry without the port → missing with a note', () => {
    const other = entry('other', ['10.0.0.0/8'], [443]);
    const noPort = entry('noport', ['52.0.0.0/16'], [80]);
    const { suggestions, diff } = diffOf([net24], [other]);
    expect(diff.missing).toEqual(suggestions);
    const second = diffOf([net24], [noPort]).diff;
    expect(second.missing[0]!.warnings.join(' ')).toMatch(
      /Registry entries match this host but do not cover it/,
    );
    expect(second.missing[0]!.resource.spec.addresses).toEqual(['52.0.1.0/24']);
    expect(second.unused).toEqual([]);
  });

  it('IPv6: a /48 covers a /64; a /72 inside it covers part', () => {
    const v6 = group('2001:db8:0:1::/64', [443], ['2001:db8:0:1::5', '2001:db8:0:1::9']);
    expect(diffOf([v6], [entry('v6', ['2001:db8::/48'], [443])]).diff.covered).toHaveLength(1);
    const part = diffOf([v6], [entry('v6-part', ['2001:db8:0:1::/65'], [443])]).diff;
    expect(part.partiallyCovered[0]!.uncoveredAddresses).toEqual(['2001:db8:0:1:8000::/65']);
    expect(part.missing[0]!.resource.spec.addresses).toEqual(['2001:db8:0:1:8000::/65']);
  });

  it('IPv4-mapped IPv6 registry addresses cover IPv4; an IPv6 ::/0 does not', () => {
    expect(diffOf([net24], [entry('mapped', ['::ffff:52.0.0.0/112'], [443])]).diff.covered).toHaveLength(1);
    expect(diffOf([net24], [entry('all-v6', ['::/0'], [443])]).diff.missing).toHaveLength(1);
    expect(diffOf([net24], [entry('all-v4', ['0.0.0.0/0'], [443])]).diff.covered).toHaveLength(1);
  });
});

describe('an IP suggestion against registry addresses', () => {
  it('covered by a network holding it, by a /32, or by an IPv4-mapped network; not by a neighbour', () => {
    const traffic = [tcp('10.20.1.5', 5432), tcp('2001:db8::7', 5432)];
    const cases: [string[], number][] = [
      [['10.20.0.0/16'], 1],
      [['10.20.1.5/32', '2001:db8::7/128'], 2],
      [['::ffff:10.20.0.0/112', '2001:db8::/32'], 2],
      [['10.20.1.4/32', '2001:db8::6/128'], 0],
    ];
    for (const [addresses, covered] of cases) {
      const suggestions = suggestServiceEntries(traffic, { apiVersion });
      const diff = diffAgainstRegistry(suggestions, traffic, [entry('db', addresses, [5432])]);
      expect(diff.covered.length, addresses.join(' ')).toBe(covered);
      expect(diff.partiallyCovered).toEqual([]);
      recordIstioYaml(`ip ${addresses.join(' ')}`, toYaml(diff.missing, { apiVersion }));
    }
  });

  it('a named host reached by opaque TCP is covered by the network holding its IP', () => {
    const traffic = [tcp('db.partner.test', 5432, { ip: '::ffff:192.0.2.5' }), tls('api.partner.test', 443)];
    const suggestions = suggestServiceEntries(traffic, { apiVersion });
    const diff = diffAgainstRegistry(suggestions, traffic, [entry('partner', ['192.0.2.0/24'], [5432])]);
    expect(diff.covered.map((c) => c.suggestion.hosts[0])).toEqual(['db.partner.test']);
    expect(diff.missing.map((s) => s.hosts[0])).toEqual(['api.partner.test']);
  });
});

describe('the outputs say it', () => {
  it('the table marks a partly covered network, and its remainder', () => {
    const { suggestions, diff } = diffOf([net24], [entry('half', ['52.0.1.0/25'], [443])]);
    const table = toTable([...suggestions, ...diff.missing], { diff });
    const lines = table.split('\n');
    expect(lines[1]).toMatch(
      /^52\.0\.1\.0\/24 \(network\)\s+443\/TCP .* partial \(net-52-0-1-0-24-443 adds the rest\)/,
    );
    expect(lines[2]).toMatch(/^52\.0\.1\.128\/25 \(network\)\s+443\/TCP .* missing part of net-52-0-1-0-24/);
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry YAML this file wrote',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
