import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadRegistry, type RegistryEntry } from '../../reports/registry/registry.js';
import { diffAgainstRegistry } from '../../reports/registry/registry-diff.js';
import { toYaml as writeYaml } from '../../reports/service-entries/service-entry-yaml.js';
import { suggestServiceEntries } from '../../reports/service-entries/suggest-service-entries.js';
import type { DestinationTraffic } from '../../reports/shared/destination.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { registryEntry as entry } from './registry-entries.js';
import { KUBECTL_LIST, MULTI_DOC } from './registry-fixtures.js';
import { http, tcp, tls } from './traffic.js';

/** Every YAML these tests write is also run through Istio's validator (last test). */
const toYaml: typeof writeYaml = (suggestions, opts) =>
  recordIstioYaml(expect.getState().currentTestName ?? 'registry-diff', writeYaml(suggestions, opts));

function run(traffic: DestinationTraffic[], registry: RegistryEntry[], seen?: Set<string>) {
  const suggestions = suggestServiceEntries(traffic);
  return { suggestions, diff: diffAgainstRegistry(suggestions, traffic, registry, seen) };
}

describe('coverage by host', () => {
  it('exact host and declared port → covered', () => {
    const google = entry('google', ['www.google.com'], [443]);
    const { suggestions, diff } = run([tls('www.google.com')], [google]);
    expect(diff.covered).toEqual([{ suggestion: suggestions[0], entry: google, entries: [google] }]);
    expect(diff.missing).toEqual([]);
    expect(diff.partiallyCovered).toEqual([]);
    expect(diff.unused).toEqual([]);
  });

  it('a wildcard entry covers subdomains at any depth, not the parent itself', () => {
    const wild = entry('wild', ['*.example.com'], [443]);
    const { diff } = run([tls('a.example.com'), tls('a.b.example.com'), tls('example.com')], [wild]);
    expect(diff.covered.map((c) => c.suggestion.hosts[0]).sort()).toEqual([
      'a.b.example.com',
      'a.example.com',
    ]);
    expect(diff.missing.map((s) => s.hosts[0])).toEqual(['example.com']);
  });

  it('`*` covers every host; an IP is covered by an entry whose addresses contain it', () => {
    const all = entry('all', ['*'], [443]);
    const net = entry('net', ['partner.internal'], [5432], { addresses: ['192.0.2.0/24'] });
    const { diff } = run(
      [tls('anything.test'), tcp('192.0.2.77', 5432), tcp('198.51.100.1', 5432)],
      [all, net],
    );
    expect(diff.covered.map((c) => [c.suggestion.evidence.observedHosts[0], c.entry.name])).toEqual([
      ['anything.test', 'all'],
      ['192.0.2.77', 'net'],
    ]);
    expect(diff.missing.map((s) => s.evidence.observedHosts[0])).toEqual(['198.51.100.1']);
  });

  it('opaque traffic to a host is matched by the entry addresses containing its IP; HTTP only by host', () => {
    const byAddress = entry('partner', ['partner.internal'], [5432, 80], { addresses: ['192.0.2.0/24'] });
    const { diff } = run(
      [tcp('db.partner.test', 5432, { ip: '192.0.2.5' }), http('web.partner.test', 80, { ip: '192.0.2.6' })],
      [byAddress],
    );
    expect(diff.covered.map((c) => c.suggestion.hosts[0])).toEqual(['db.partner.test']);
    expect(diff.missing.map((s) => s.hosts[0])).toEqual(['web.partner.test']);
  });

  it('a wildcard suggestion is covered when every member is', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}.cdn.test.io`);
    const registry = [entry('cdn', ['*.test.io'], [443])];
    const { suggestions, diff } = run(
      hosts.map((h) => tls(h)),
      registry,
    );
    expect(suggestions[0]!.kind).toBe('wildcard');
    expect(diff.covered).toHaveLength(1);
  });

  it('a wildcard suggestion whose members are only partly covered names the uncovered hosts', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}.cdn.test.io`);
    const registry = [entry('a-only', ['a.cdn.test.io'], [443])];
    const { diff } = run(
      hosts.map((h) => tls(h)),
      registry,
    );
    const [p] = diff.partiallyCovered;
    expect(p!.uncoveredHosts).toEqual(hosts.slice(1));
    expect(p!.reason).toMatch(
      /no entry matches b\.cdn\.test\.io, c\.cdn\.test\.io, d\.cdn\.test\.io, e\.cdn\.test\.io/,
    );
    expect(p!.remainder.kind).toBe('wildcard');
    expect(p!.remainder.evidence.observedHosts).toEqual(hosts.slice(1));
  });
});

describe('coverage by port', () => {
  it('another port → partially covered; the missing port is suggested again', () => {
    const google = entry('google', ['www.google.com'], [443]);
    const { suggestions, diff } = run([tls('www.google.com', 443), tls('www.google.com', 8443)], [google]);
    expect(diff.covered).toEqual([]);
    const [p] = diff.partiallyCovered;
    expect(p!.suggestion).toBe(suggestions[0]);
    expect(p!.uncoveredPorts).toEqual([8443]);
    expect(p!.hiddenFrom).toEqual([]);
    expect(p!.reason).toBe('port 8443 is not declared (default/google declares 443)');
    expect(p!.entries).toEqual([google]);
    expect(diff.missing).toEqual([p!.remainder]);
    expect(p!.remainder.name).toBe('www-google-com-8443');
    expect(p!.remainder.resource.spec).toEqual({
      hosts: ['www.google.com'],
      ports: [{ number: 8443, name: 'tls-8443', protocol: 'TLS' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
    });
    expect(p!.remainder.evidence.requests).toBe(10);
    expect(p!.remainder.warnings[0]).toMatch(
      /^Only the part of www\.google\.com that the registry does not cover/,
    );
  });

  it('an entry with no ports covers no port, and the missing suggestion says so', () => {
    const noPorts = entry('noports', ['httpbin.org'], []);
    const { suggestions, diff } = run([http('httpbin.org')], [noPorts]);
    expect(diff.covered).toEqual([]);
    expect(diff.missing).toHaveLength(1);
    expect(diff.missing[0]).not.toBe(suggestions[0]);
    expect(diff.missing[0]!.warnings.join(' ')).toMatch(
      /default\/noports declares no ports, so it covers no port/,
    );
    expect(suggestions[0]!.warnings).toEqual([]); // the input is not mutated
    expect(diff.unused).toEqual([]); // its host did match traffic
  });
});

describe('coverage by namespace (exportTo)', () => {
  const twoNamespaces = tls('api.stripe.com', 443, {
    namespaces: ['payments', 'shop'],
    workloads: ['payments/charger', 'shop/cart'],
  });

  it("exportTo ['.'] hides the entry from other namespaces: partially covered, remainder exported to them", () => {
    const own = entry('payments-api', ['api.stripe.com'], [443], { namespace: 'payments', exportTo: ['.'] });
    const { diff } = run([twoNamespaces], [own]);
    const [p] = diff.partiallyCovered;
    expect(p!.uncoveredPorts).toEqual([]);
    expect(p!.hiddenFrom).toEqual([{ port: 443, namespaces: ['shop'] }]);
    expect(p!.reason).toBe(
      "port 443: payments/payments-api (exportTo ['.']) not visible from namespace shop",
    );
    expect(p!.remainder.resource.spec.exportTo).toEqual(['shop']);
    expect(p!.remainder.evidence.namespaces).toEqual(['shop']);
    expect(p!.remainder.evidence.workloads).toEqual(['shop/cart']);
    expect(diff.missing).toEqual([p!.remainder]);
  });

  it("traffic only from another namespace than an exportTo ['.'] entry → missing, with a note", () => {
    const own = entry('payments-api', ['api.stripe.com'], [443], { namespace: 'payments', exportTo: ['.'] });
    const { diff } = run([tls('api.stripe.com', 443, { namespaces: ['shop'] })], [own]);
    expect(diff.partiallyCovered).toEqual([]);
    expect(diff.missing).toHaveLength(1);
    expect(diff.missing[0]!.warnings.join(' ')).toMatch(/not visible from namespace shop/);
  });

  it('exportTo listing namespaces, or `*`, makes the entry visible there', () => {
    const listed = entry('listed', ['api.stripe.com'], [443], {
      namespace: 'payments',
      exportTo: ['.', 'shop'],
    });
    expect(run([twoNamespaces], [listed]).diff.covered).toHaveLength(1);
    const star = entry('star', ['api.stripe.com'], [443], { namespace: 'payments', exportTo: ['*'] });
    expect(run([twoNamespaces], [star]).diff.covered).toHaveLength(1);
    const none = entry('none', ['api.stripe.com'], [443], { namespace: 'payments', exportTo: ['~'] });
    expect(run([twoNamespaces], [none]).diff.missing).toHaveLength(1);
  });

  it('two entries can together cover all namespaces', () => {
    const a = entry('a', ['api.stripe.com'], [443], { namespace: 'payments', exportTo: ['.'] });
    const b = entry('b', ['api.stripe.com'], [443], { namespace: 'shop', exportTo: ['.'] });
    const { diff } = run([twoNamespaces], [a, b]);
    expect(diff.covered).toHaveLength(1);
    expect(diff.covered[0]!.entries).toHaveLength(2);
  });

  it('unknown source namespaces are covered only by entries exported everywhere', () => {
    const own = entry('own', ['x.test'], [443], { exportTo: ['.'] });
    const { diff } = run([tls('x.test', 443, { namespaces: [] })], [own]);
    expect(diff.missing).toHaveLength(1);
    expect(diff.missing[0]!.warnings.join(' ')).toMatch(/not visible from namespace \(unknown\)/);
  });
});

describe('names and unused entries', () => {
  it('a missing suggestion named like an existing entry is renamed rather than overwrite it', () => {
    const clash = entry('httpbin-org', ['other.test'], [80]);
    const { diff } = run([http('httpbin.org')], [clash]);
    expect(diff.missing[0]!.name).toBe('httpbin-org-egresslens');
    expect(diff.missing[0]!.resource.metadata.name).toBe('httpbin-org-egresslens');
    expect(diff.missing[0]!.warnings.join(' ')).toMatch(/Renamed from httpbin-org/);
    expect(diff.unused).toEqual([clash]);
  });

  it('entries matching no traffic are unused unless their host was seen through an allowed cluster', () => {
    const google = entry('google', ['www.google.com'], [443]);
    const old = entry('old', ['gone.example'], [443]);
    const allowed = entry('allowed', ['*.allowed.example'], [443]);
    const { diff } = run([tls('www.google.com')], [google, old, allowed], new Set(['api.allowed.example']));
    expect(diff.unused).toEqual([old]);
    const again = run([tls('www.google.com')], [google, old, allowed], new Set(['*.allowed.example'])).diff;
    expect(again.unused).toEqual([old]);
  });
});

describe('end to end with registry files', () => {
  it('kubectl List + multi-doc file against traffic', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egresslens-diff-'));
    try {
      await writeFile(join(dir, 'all.yaml'), KUBECTL_LIST);
      await writeFile(join(dir, 'shop.yaml'), MULTI_DOC);
      const registry = await loadRegistry([dir]);
      const traffic = [
        http('httpbin.org'), // default/httpbin-ext (no exportTo)
        tls('www.google.com', 443), // default/google
        tls('www.google.com', 8443), // not declared
        tls('api.stripe.com', 443, { namespaces: ['shop'] }), // payments/payments-api is exportTo ['.']
        tls('a.example.com', 443), // shop/example-wildcard
        tcp('93.184.215.14', 8883), // nothing
      ];
      const suggestions = suggestServiceEntries(traffic);
      const diff = diffAgainstRegistry(suggestions, traffic, registry);
      expect(
        diff.covered.map((c) => [c.suggestion.hosts[0], `${c.entry.namespace}/${c.entry.name}`]),
      ).toEqual([
        ['a.example.com', 'shop/example-wildcard'],
        ['httpbin.org', 'default/httpbin-ext'],
      ]);
      expect(diff.partiallyCovered.map((p) => [p.suggestion.hosts[0], p.uncoveredPorts])).toEqual([
        ['www.google.com', [8443]],
      ]);
      expect(diff.missing.map((s) => s.name)).toEqual([
        'api-stripe-com',
        'www-google-com-8443',
        'ip-93-184-215-14',
      ]);
      expect(diff.unused.map((e) => e.name)).toEqual(['legacy-ftp']);
      // what is left to apply is valid YAML for both API versions
      for (const apiVersion of ['networking.istio.io/v1', 'networking.istio.io/v1beta1'] as const) {
        const docs = parseAllDocuments(toYaml(diff.missing, { apiVersion }));
        expect(Array.isArray(docs) && docs.length).toBe(3);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry YAML this file wrote (istioctl validate + CRD schema + analyze)',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
