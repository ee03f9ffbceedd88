import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDns1123Label } from '../../reports/service-entries/service-entry-name.js';
import {
  planServiceEntries,
  type SuggestOptions,
  suggestServiceEntries as suggest,
  trafficWithoutPort,
} from '../../reports/service-entries/suggest-service-entries.js';
import type { Suggestion } from '../../reports/service-entries/suggestion.js';
import type { DestinationTraffic } from '../../reports/shared/destination.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordSuggestions } from '../helpers/istio-validator.js';
import { grpc, http, row, tcp, tls } from './traffic.js';

/** Every suggestion list these tests make is also run through Istio's validator (last test). */
const suggestServiceEntries = (traffic: DestinationTraffic[], opts?: SuggestOptions) =>
  recordSuggestions(expect.getState().currentTestName ?? 'suggest', suggest(traffic, opts));

const byHost = (list: Suggestion[], host: string) => {
  const s = list.find((x) => x.hosts.includes(host));
  if (!s) throw new Error(`no suggestion for ${host}: ${list.map((x) => x.hosts.join(',')).join(' ')}`);
  return s;
};

describe('the seed scenario (Istio "Accessing External Services")', () => {
  const suggestions = suggestServiceEntries([http('httpbin.org', 80), tls('www.google.com', 443)]);

  it('suggests httpbin-ext: httpbin.org, 80/HTTP, DNS, MESH_EXTERNAL', () => {
    const s = byHost(suggestions, 'httpbin.org');
    expect(s.kind).toBe('host');
    expect(s.resource.spec).toEqual({
      hosts: ['httpbin.org'],
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
    });
    expect(s.warnings).toEqual([]);
  });

  it('suggests google: www.google.com, 443/HTTPS, DNS, MESH_EXTERNAL', () => {
    const s = byHost(suggestions, 'www.google.com');
    expect(s.resource.spec).toEqual({
      hosts: ['www.google.com'],
      ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
    });
    expect(s.name).toBe('www-google-com');
    expect(s.resource).toMatchObject({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry' });
  });

  it('orders suggestions by host and names them from the host', () => {
    expect(suggestions.map((s) => s.name)).toEqual(['httpbin-org', 'www-google-com']);
  });
});

describe('protocols per port', () => {
  const suggestions = suggestServiceEntries([
    http('api.one.test', 8080),
    tls('api.one.test', 8443),
    tls('api.one.test', 443),
    grpc('grpc.two.test', 9090),
    grpc('mixed.three.test', 9000, { requests: 4 }),
    http('mixed.three.test', 9000, { requests: 6 }),
    tcp('db.four.test', 5432, { ip: '192.0.2.44' }),
    tcp('cache.five.test', 6379, { ip: '192.0.2.55' }),
  ]);

  it('HTTP elsewhere than 80 is http-<port>, TLS on 443 is https, TLS elsewhere is tls-<port>', () => {
    expect(byHost(suggestions, 'api.one.test').resource.spec.ports).toEqual([
      { number: 443, name: 'https', protocol: 'HTTPS' },
      { number: 8080, name: 'http-8080', protocol: 'HTTP' },
      { number: 8443, name: 'tls-8443', protocol: 'TLS' },
    ]);
  });

  it('gRPC only is GRPC; gRPC mixed with other HTTP is HTTP2 with a warning', () => {
    expect(byHost(suggestions, 'grpc.two.test').resource.spec.ports).toEqual([
      { number: 9090, name: 'grpc-9090', protocol: 'GRPC' },
    ]);
    const mixed = byHost(suggestions, 'mixed.three.test');
    expect(mixed.resource.spec.ports).toEqual([{ number: 9000, name: 'http2-9000', protocol: 'HTTP2' }]);
    expect(mixed.warnings.join(' ')).toMatch(/gRPC \(4\) and other HTTP \(6\)/);
  });

  it('neither HTTP nor SNI is TCP, declared with the IPs seen as addresses', () => {
    const db = byHost(suggestions, 'db.four.test');
    expect(db.resource.spec).toMatchObject({
      addresses: ['192.0.2.44'],
      ports: [{ number: 5432, name: 'tcp-5432', protocol: 'TCP' }],
      resolution: 'DNS',
    });
    expect(db.warnings.join(' ')).toMatch(/lists the 1 IP\(s\) seen as addresses/);
  });

  it('two entries declaring the same TCP port on the same address warn about each other', () => {
    const list = suggestServiceEntries([
      tcp('a.db.test', 5432, { ip: '192.0.2.9' }),
      tcp('b.db.test', 5432, { ip: '192.0.2.9' }),
      tcp('c.db.test', 5432, { ip: '192.0.2.10' }),
    ]);
    expect(byHost(list, 'a.db.test').warnings.join(' ')).toMatch(
      /TCP 192\.0\.2\.9:5432 is also declared by b\.db\.test/,
    );
    expect(byHost(list, 'b.db.test').warnings.join(' ')).toMatch(/by a\.db\.test/);
    expect(byHost(list, 'c.db.test').warnings.join(' ')).not.toMatch(/also declared/);
  });

  it('plain HTTP and TLS on one port: majority wins and a warning says so', () => {
    const [s] = suggestServiceEntries([
      row('odd.test', 8000, { requests: 10, httpRequests: 3, tlsWithSni: 7 }),
    ]);
    expect(s!.resource.spec.ports).toEqual([{ number: 8000, name: 'tls-8000', protocol: 'TLS' }]);
    expect(s!.warnings.join(' ')).toMatch(/both plain HTTP \(3\) and TLS with SNI \(7\)/);
  });

  it('TCP on 443 for a hostname hints that it may be TLS without SNI in the logs', () => {
    const [s] = suggestServiceEntries([tcp('recovered.test', 443, { ip: '192.0.2.43' })]);
    expect(s!.resource.spec.ports[0]).toEqual({ number: 443, name: 'tcp-443', protocol: 'TCP' });
    expect(s!.resource.spec.addresses).toEqual(['192.0.2.43']);
    expect(s!.warnings.join(' ')).toMatch(/Port 443 showed no SNI/);
  });
});

describe('IP-only destinations', () => {
  it('raw TCP to an IP: /32 address, STATIC, endpoint, synthetic host, warning', () => {
    const [s] = suggestServiceEntries([tcp('93.184.215.14', 5432, { ip: '93.184.215.14' })]);
    expect(s!.kind).toBe('ip');
    expect(s!.name).toBe('ip-93-184-215-14');
    expect(s!.resource.spec).toEqual({
      hosts: ['ip-93-184-215-14.external'],
      addresses: ['93.184.215.14/32'],
      ports: [{ number: 5432, name: 'tcp-5432', protocol: 'TCP' }],
      resolution: 'STATIC',
      location: 'MESH_EXTERNAL',
      endpoints: [{ address: '93.184.215.14' }],
    });
    expect(s!.warnings[0]).toMatch(/IP-only destination 93\.184\.215\.14/);
    expect(s!.warnings[0]).toMatch(/breaks\s+when the IP changes/);
    expect(s!.warnings[0]).toMatch(/prefer a DNS entry/);
    // no port-sharing warning: the address identifies the traffic
    expect(s!.warnings.join(' ')).not.toMatch(/must not be shared/);
  });

  it('IPv6 gets /128', () => {
    const [s] = suggestServiceEntries([tcp('2001:db8::1', 443)]);
    expect(s!.resource.spec.addresses).toEqual(['2001:db8::1/128']);
    expect(s!.resource.spec.endpoints).toEqual([{ address: '2001:db8::1' }]);
    expect(s!.resource.spec.hosts).toEqual(['ip-2001-db8--1.external']);
    expect(isDns1123Label(s!.name)).toBe(true);
  });

  it('TLS to an IP on 443 is HTTPS, on other ports TLS; plain HTTP to an IP is TCP with a warning', () => {
    const list = suggestServiceEntries([
      tls('198.51.100.7', 443),
      tls('198.51.100.7', 8443),
      http('203.0.113.9', 80),
    ]);
    expect(byHost(list, 'ip-198-51-100-7.external').resource.spec.ports).toEqual([
      { number: 443, name: 'https', protocol: 'HTTPS' },
      { number: 8443, name: 'tls-8443', protocol: 'TLS' },
    ]);
    const h = byHost(list, 'ip-203-0-113-9.external');
    expect(h.resource.spec.ports).toEqual([{ number: 80, name: 'tcp-80', protocol: 'TCP' }]);
    expect(h.warnings.join(' ')).toMatch(/plain HTTP was sent to the bare IP/);
  });

  it('IP entries sort after hostname entries', () => {
    const list = suggestServiceEntries([tcp('10.0.0.1', 22), http('zzz.test')]);
    expect(list.map((s) => s.kind)).toEqual(['host', 'ip']);
  });
});

describe('wildcards', () => {
  const siblings = (n: number) => Array.from({ length: n }, (_, i) => tls(`s${i}.cdn.example.com`, 443));

  it('4 siblings → no wildcard, 4 DNS entries', () => {
    const list = suggestServiceEntries(siblings(4));
    expect(list).toHaveLength(4);
    expect(list.every((s) => s.kind === 'host' && s.resource.spec.resolution === 'DNS')).toBe(true);
  });

  it('5 siblings → one wildcard entry with resolution NONE, members in the evidence, replacing them', () => {
    const list = suggestServiceEntries([...siblings(5), http('httpbin.org')]);
    expect(list.map((s) => s.hosts[0])).toEqual(['*.cdn.example.com', 'httpbin.org']);
    const w = list[0]!;
    expect(w.kind).toBe('wildcard');
    expect(w.name).toBe('wildcard-cdn-example-com');
    expect(w.resource.spec).toEqual({
      hosts: ['*.cdn.example.com'],
      ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
      resolution: 'NONE',
      location: 'MESH_EXTERNAL',
    });
    expect(w.evidence.observedHosts).toEqual([0, 1, 2, 3, 4].map((i) => `s${i}.cdn.example.com`));
    expect(w.evidence.requests).toBe(50);
    expect(w.resource.metadata.annotations['egresslens.io/observed-hosts']).toBe(
      w.evidence.observedHosts.join(','),
    );
    const text = w.warnings.join(' ');
    expect(text).toMatch(/uses NONE/);
    expect(text).toMatch(/trusts the Host header \/ SNI/);
    expect(text).toMatch(/DYNAMIC_DNS/);
  });

  it('the threshold is an option', () => {
    expect(suggestServiceEntries(siblings(3), { wildcardMinSiblings: 3 }).map((s) => s.kind)).toEqual([
      'wildcard',
    ]);
    expect(suggestServiceEntries(siblings(6), { wildcardMinSiblings: 7 })).toHaveLength(6);
  });

  it('never *.com, never a two-label public suffix', () => {
    const tlds = Array.from({ length: 6 }, (_, i) => http(`site${i}.com`));
    const uk = Array.from({ length: 6 }, (_, i) => http(`shop${i}.co.uk`));
    const list = suggestServiceEntries([...tlds, ...uk]);
    expect(list).toHaveLength(12);
    expect(list.some((s) => s.kind === 'wildcard')).toBe(false);
  });

  it('siblings are one label under the same parent; deeper hosts keep their own entry', () => {
    const list = suggestServiceEntries([
      ...['a', 'b', 'c', 'd', 'e'].map((l) => http(`${l}.example.com`)),
      http('x.y.example.com'),
      http('example.com'),
    ]);
    expect(list.map((s) => s.hosts[0]).sort()).toEqual(['*.example.com', 'example.com', 'x.y.example.com']);
  });

  it('ports of the members are merged; a member’s opaque TCP becomes an IP entry, never TCP on the wildcard', () => {
    const list = suggestServiceEntries([
      ...siblings(5),
      tls('s0.cdn.example.com', 8443),
      tcp('s1.cdn.example.com', 27017, { ip: '192.0.2.27' }),
    ]);
    const w = list.find((s) => s.kind === 'wildcard')!;
    expect(w.resource.spec.ports.map((p) => `${p.number}/${p.protocol}`)).toEqual(['443/HTTPS', '8443/TLS']);
    const ip = byHost(list, 'ip-192-0-2-27.external');
    expect(ip.resource.spec).toMatchObject({
      addresses: ['192.0.2.27/32'],
      ports: [{ number: 27017, protocol: 'TCP' }],
      resolution: 'STATIC',
    });
    expect(ip.warnings.join(' ')).toMatch(/Opaque TCP of s1\.cdn\.example\.com:27017 went to this IP/);
  });

  it('a shared multi-tenant parent is warned about', () => {
    const list = suggestServiceEntries(Array.from({ length: 5 }, (_, i) => tls(`b${i}.s3.amazonaws.com`)));
    expect(list[0]!.warnings.join(' ')).toMatch(/shared by many tenants/);
  });
});

describe('names', () => {
  it('are unique when hosts map to the same name', () => {
    const list = suggestServiceEntries([
      http('www.google.com'),
      http('www-google.com'),
      http('www.google-com'),
    ]);
    expect(list.map((s) => s.name).sort()).toEqual([
      'www-google-com',
      'www-google-com-2',
      'www-google-com-3',
    ]);
  });

  it('long hosts are cut to 63 characters with a hash, still unique', () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const long2 = `${'a'.repeat(60)}.example.org`;
    const list = suggestServiceEntries([http(long), http(long2)]);
    for (const s of list) {
      expect(s.name.length).toBeLessThanOrEqual(63);
      expect(isDns1123Label(s.name)).toBe(true);
    }
    expect(new Set(list.map((s) => s.name)).size).toBe(2);
  });

  it('property: any set of hosts gets unique DNS-1123 names', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
    const host = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
    fc.assert(
      fc.property(fc.uniqueArray(host, { maxLength: 25 }), fc.integer({ min: 2, max: 6 }), (hosts, min) => {
        const list = suggestServiceEntries(
          hosts.map((h) => http(h)),
          { wildcardMinSiblings: min },
        );
        const names = list.map((s) => s.name);
        expect(new Set(names).size).toBe(names.length);
        for (const n of names) expect(isDns1123Label(n)).toBe(true);
        // every host is represented exactly once: suggested, or flagged (single-label, numeric TLD)
        const { flagged } = planServiceEntries(
          hosts.map((h) => http(h)),
          { wildcardMinSiblings: min },
        );
        const observed = [...list.flatMap((s) => s.evidence.observedHosts), ...flagged.map((f) => f.host)];
        expect(observed.sort()).toEqual([...hosts].sort());
        for (const f of flagged)
          expect(f.reason === 'single-label' || f.reason === 'invalid-host').toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('avoid reserved names', () => {
    const [s] = suggestServiceEntries([http('httpbin.org')], { reservedNames: ['httpbin-org'] });
    expect(s!.name).toBe('httpbin-org-2');
  });
});

describe('evidence', () => {
  const list = suggestServiceEntries(
    [
      http('api.example.org', 80, {
        requests: 3,
        bytes: 30,
        namespaces: ['shop', 'billing'],
        workloads: ['shop/cart', 'billing/invoice'],
        firstSeen: '2026-01-10T10:00:00Z',
        lastSeen: '2026-01-11T10:00:00Z',
        examplePaths: ['/v1/items?token=secret', '/v1/users#frag'],
      }),
      tls('api.example.org', 443, {
        requests: 7,
        bytes: 70,
        namespaces: ['shop', 'ops'],
        workloads: ['ops/cron'],
        firstSeen: '2026-01-09T23:00:00+02:00',
        lastSeen: '2026-01-12T00:00:00Z',
      }),
    ],
    { namespace: 'istio-egress', apiVersion: 'networking.istio.io/v1beta1' },
  );
  const s = list[0]!;

  it('sums the ports of one host into one suggestion', () => {
    expect(list).toHaveLength(1);
    expect(s.evidence).toMatchObject({
      requests: 10,
      bytes: 100,
      namespaces: ['billing', 'ops', 'shop'],
      workloads: ['billing/invoice', 'ops/cron', 'shop/cart'],
      firstSeen: '2026-01-09T23:00:00+02:00',
      lastSeen: '2026-01-12T00:00:00Z',
      examplePaths: ['/v1/items', '/v1/users'],
      observedHosts: ['api.example.org'],
    });
    expect(s.evidence.ports.map((p) => [p.number, p.protocol, p.requests])).toEqual([
      [80, 'HTTP', 3],
      [443, 'HTTPS', 7],
    ]);
  });

  it('is in the annotations, all strings', () => {
    const a = s.resource.metadata.annotations;
    expect(a).toMatchObject({
      'egresslens.io/requests': '10',
      'egresslens.io/bytes': '100',
      'egresslens.io/first-seen': '2026-01-09T23:00:00+02:00',
      'egresslens.io/last-seen': '2026-01-12T00:00:00Z',
      'egresslens.io/source-namespaces': 'billing,ops,shop',
      'egresslens.io/source-workloads': 'billing/invoice,ops/cron,shop/cart',
      'egresslens.io/ports': '80/HTTP,443/HTTPS',
    });
    for (const v of Object.values(a)) expect(typeof v).toBe('string');
  });

  it('honours namespace and apiVersion', () => {
    expect(s.resource.metadata.namespace).toBe('istio-egress');
    expect(s.resource.apiVersion).toBe('networking.istio.io/v1beta1');
  });

  it('normalises hosts (case, trailing dot) before grouping', () => {
    const l = suggestServiceEntries([http('API.Example.ORG.'), tls('api.example.org')]);
    expect(l).toHaveLength(1);
    expect(l[0]!.hosts).toEqual(['api.example.org']);
  });

  it('a recovered host carries a warning and an annotation', () => {
    const [r] = suggestServiceEntries([
      tcp('db.example.net', 5432, {
        ip: '192.0.2.10',
        recoveredFrom: { host: '192.0.2.10', confidence: 0.4, note: 'earlier SNI to this IP' },
      }),
    ]);
    expect(r!.warnings.join(' ')).toMatch(/Low confidence: host db\.example\.net was not in the logs/);
    expect(r!.resource.metadata.annotations['egresslens.io/recovered-from']).toBe(
      'db.example.net<-192.0.2.10 (confidence 0.4)',
    );
    expect(r!.evidence.ips).toEqual(['192.0.2.10']);
  });
});

describe('unknown ports', () => {
  it('a host seen only on port 0 gets no suggestion; trafficWithoutPort lists it', () => {
    const traffic = [tcp('mystery.test', 0), http('httpbin.org')];
    expect(suggestServiceEntries(traffic).map((s) => s.hosts[0])).toEqual(['httpbin.org']);
    expect(trafficWithoutPort(traffic).map((r) => r.host)).toEqual(['mystery.test']);
  });

  it('port-0 traffic of a host with known ports is counted apart and warned about', () => {
    const [s] = suggestServiceEntries([tls('api.test', 443), tcp('api.test', 0, { requests: 4, bytes: 8 })]);
    expect(s!.resource.spec.ports).toHaveLength(1);
    expect(s!.evidence.requests).toBe(10);
    expect(s!.evidence.unknownPort).toEqual({ requests: 4, bytes: 8 });
    expect(s!.warnings.join(' ')).toMatch(/4 requests to api\.test had an unknown port/);
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry this file produced (istioctl validate + CRD schema + analyze; no IST0133/IST0134)',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
