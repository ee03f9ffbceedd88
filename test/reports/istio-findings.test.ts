/**
 * The eight findings of issue 10 that Istio's validator made on suggestions, one block each, plus
 * `--namespace`/`--export-to`; every YAML made here is also run through Istio's validator (last test).
 */
import { describe, expect, it } from 'vitest';
import { blockedProtocolCounts, chooseProtocol } from '../../reports/service-entries/port-protocol.js';
import { asDynamicDns } from '../../reports/service-entries/service-entry-dynamic-dns.js';
import {
  flaggedCommentLines,
  flaggedTable,
} from '../../reports/service-entries/service-entry-flagged-text.js';
import { hostProblem } from '../../reports/service-entries/service-entry-host.js';
import {
  planServiceEntries,
  type SuggestOptions,
} from '../../reports/service-entries/suggest-service-entries.js';
import type { Suggestion } from '../../reports/service-entries/suggestion.js';
import type { DestinationTraffic } from '../../reports/shared/destination.js';
import {
  expectIstioAccepts,
  ISTIO_BUILD_TIMEOUT_MS,
  recordSuggestions,
  validateWithIstio,
} from '../helpers/istio-validator.js';
import { http, row, tcp, tls } from './traffic.js';

const plan = (traffic: DestinationTraffic[], opts?: SuggestOptions) => {
  const p = planServiceEntries(traffic, opts);
  recordSuggestions(expect.getState().currentTestName ?? 'findings', p.suggestions);
  return p;
};

const byHost = (list: Suggestion[], host: string) => {
  const s = list.find((x) => x.hosts.includes(host));
  if (!s) throw new Error(`no suggestion for ${host}: ${list.map((x) => x.hosts.join(',')).join(' ')}`);
  return s;
};

describe('1. hosts Istio rejects are listed with the reason, never emitted', () => {
  const long = `${'a'.repeat(64)}.example.com`;
  const tooLong = `${Array.from({ length: 5 }, () => 'b'.repeat(60)).join('.')}.com`;
  const p = plan([
    tls('my_service.example.com'),
    http(long),
    tls(tooLong),
    http('shop.123'),
    http('bad-.example.com'),
    tls('ok.example.com'),
  ]);

  it('the valid host is the only suggestion', () => {
    expect(p.suggestions.map((s) => s.hosts[0])).toEqual(['ok.example.com']);
  });

  it.each([
    ['an underscore', 'my_service.example.com', /label "my_service" contains '_'/],
    ['a 64-character label', long, /has 64 characters \(a DNS label has at most 63\)/],
    ['a 308-character name', tooLong, /name of 308 characters \(a DNS name has at most 253\)/],
    ['a numeric top-level domain', 'shop.123', /top-level domain "123" cannot be all-numeric/],
    ['a label ending with -', 'bad-.example.com', /starts or ends with '-'/],
  ])('a host with %s is flagged invalid-host with the reason', (_what, host, reason) => {
    const f = p.flagged.find((x) => x.host === host);
    expect(f?.reason).toBe('invalid-host');
    expect(f!.detail).toMatch(reason);
    expect(f!.requests).toBe(10);
  });

  it(
    'the rules are the ones Istio applies: every host flagged here is one Istio rejects',
    async () => {
      const yaml = p.flagged
        .map(
          (f, i) =>
            `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: bad-${i}, namespace: probe}\n` +
            `spec: {hosts: ["${f.host}"], ports: [{number: 443, name: https, protocol: HTTPS}], resolution: DNS, ` +
            `location: MESH_EXTERNAL}\n`,
        )
        .join('---\n');
      const verdict = await validateWithIstio(yaml);
      for (let i = 0; i < p.flagged.length; i++)
        expect(verdict.errors.some((e) => e.includes(`/probe/bad-${i}:`))).toBe(true);
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );

  it('hostProblem accepts what Istio accepts', () => {
    for (const h of ['a.b', '*.example.com', 'xn--bcher-kva.example', 'a-b.c-d.e1', 'example.com.'])
      expect(hostProblem(h)).toBeUndefined();
    expect(hostProblem('*')).toMatch(/not allowed/);
    expect(hostProblem('a.*.example.com')).toMatch(/'\*' outside the first label/);
    expect(hostProblem('a..b')).toMatch(/is empty/);
  });
});

describe('2. in-mesh hosts through PassthroughCluster get their own finding, never MESH_EXTERNAL', () => {
  it('*.svc.cluster.local, *.svc and the configured cluster domain', () => {
    const traffic = [
      http('reviews.bookinfo.svc.cluster.local', 9080),
      http('ratings.bookinfo.svc', 9080),
      tls('api.prod.mesh.example', 443),
      tls('api.example.com'),
    ];
    const p = plan(traffic, { clusterDomain: 'prod.mesh.example' });
    // Only the configured domain is the mesh's: cluster.local is then an ordinary name
    expect(p.suggestions.map((s) => s.hosts[0])).toEqual([
      'api.example.com',
      'reviews.bookinfo.svc.cluster.local',
    ]);
    expect(p.flagged.map((f) => [f.host, f.reason])).toEqual([
      ['api.prod.mesh.example', 'in-mesh'],
      ['ratings.bookinfo.svc', 'in-mesh'],
    ]);
    expect(p.flagged[0]!.detail).toMatch(/missing|no sidecar|not in the registry/);
  });

  it('the default cluster domain is cluster.local', () => {
    const p = plan([http('reviews.bookinfo.svc.cluster.local', 9080), http('x.pod.cluster.local', 80)]);
    expect(p.suggestions).toEqual([]);
    expect(p.flagged.map((f) => f.reason)).toEqual(['in-mesh', 'in-mesh']);
    expect(p.flagged[0]!.detail).toMatch(/sidecar did not know this service/);
    expect(p.flagged[0]!.detail).toMatch(/MESH_EXTERNAL ServiceEntry is not the fix/);
  });
});

describe('3. TCP ports carry addresses or become IP entries (IST0134)', () => {
  it('a name recovered for a no-SNI IP on 5672 gets the IP as addresses', () => {
    const p = plan([
      tcp('mq.example.net', 5672, {
        ip: '203.0.113.56',
        recoveredFrom: { host: '203.0.113.56', confidence: 0.9, note: 'seen as SNI earlier' },
      }),
    ]);
    const [s] = p.suggestions;
    expect(s!.resource.spec).toMatchObject({
      hosts: ['mq.example.net'],
      addresses: ['203.0.113.56'],
      ports: [{ number: 5672, protocol: 'TCP', name: 'tcp-5672' }],
      resolution: 'DNS',
    });
  });

  it('a host with HTTPS and TCP: HTTPS stays on the name, TCP becomes an IP entry', () => {
    const p = plan([
      tls('db.example.org', 443, { ip: '198.51.100.5' }),
      tcp('db.example.org', 5432, { ip: '198.51.100.5' }),
    ]);
    const named = byHost(p.suggestions, 'db.example.org');
    expect(named.resource.spec.addresses).toBeUndefined();
    expect(named.resource.spec.ports.map((x) => x.protocol)).toEqual(['HTTPS']);
    const ip = byHost(p.suggestions, 'ip-198-51-100-5.external');
    expect(ip.resource.spec.ports).toEqual([{ number: 5432, name: 'tcp-5432', protocol: 'TCP' }]);
  });

  it('a wildcard never declares TCP: 27017 of a member becomes an IP entry', () => {
    const members = ['a', 'b', 'c', 'd', 'e'].map((l) =>
      tls(`${l}.mongo.example.com`, 443, { ip: '192.0.2.1' }),
    );
    const p = plan([...members, tcp('a.mongo.example.com', 27017, { ip: '192.0.2.17' })]);
    const w = p.suggestions.find((s) => s.kind === 'wildcard')!;
    expect(w.resource.spec.ports.every((x) => x.protocol !== 'TCP')).toBe(true);
    expect(byHost(p.suggestions, 'ip-192-0-2-17.external').resource.spec.ports[0]!.number).toBe(27017);
  });

  it('TCP with no IP logged is flagged, not emitted', () => {
    const p = plan([tcp('cache.example.net', 6379), tls('web.example.net'), tcp('web.example.net', 6380)]);
    expect(p.suggestions.map((s) => s.hosts[0])).toEqual(['web.example.net']);
    expect(p.flagged.map((f) => [f.host, f.reason, f.ports])).toEqual([
      ['cache.example.net', 'tcp-without-address', [6379]],
      ['web.example.net', 'tcp-without-address', [6380]],
    ]);
    expect(p.flagged[0]!.detail).toMatch(/IST0134/);
  });

  it('no suggestion anywhere has a TCP port without addresses', () => {
    const p = plan([
      tcp('a.example.com', 1, { ip: '192.0.2.2' }),
      tcp('b.example.com', 2),
      http('c.example.com', 3, { ip: '192.0.2.3' }),
      tcp('c.example.com', 4, { ip: '192.0.2.3' }),
      tcp('192.0.2.4', 5),
    ]);
    for (const s of p.suggestions)
      if (s.resource.spec.ports.some((x) => x.protocol === 'TCP'))
        expect(s.resource.spec.addresses?.length ?? 0).toBeGreaterThan(0);
  });
});

describe('4. a 1:1 tie between plain HTTP and TLS with SNI resolves to TLS', () => {
  it('on 443 it is HTTPS', () => {
    const p = plan([row('tie.example.com', 443, { requests: 2, httpRequests: 1, tlsWithSni: 1 })]);
    expect(p.suggestions[0]!.resource.spec.ports).toEqual([
      { number: 443, name: 'https', protocol: 'HTTPS' },
    ]);
    expect(p.suggestions[0]!.warnings.join(' ')).toMatch(/a tie goes to TLS/);
  });

  it('a majority still wins either way', () => {
    const c = (h: number, t: number) =>
      chooseProtocol(8443, { requests: h + t, httpRequests: h, tlsWithSni: t, grpcRequests: 0 }).protocol;
    expect(c(2, 1)).toBe('HTTP');
    expect(c(1, 2)).toBe('TLS');
    expect(c(5, 5)).toBe('TLS');
  });
});

describe('5. one protocol rule for every report: an unnamed IP on 443 is TCP', () => {
  it('blocked connections: a name is SNI (TLS), an IP is opaque TCP, HTTP is HTTP', () => {
    expect(blockedProtocolCounts('tcp', '198.51.100.9', 3)).toMatchObject({ tlsWithSni: 0, httpRequests: 0 });
    expect(blockedProtocolCounts('tcp', 'api.example.com', 3)).toMatchObject({ tlsWithSni: 3 });
    expect(blockedProtocolCounts('http', 'api.example.com', 3)).toMatchObject({ httpRequests: 3 });
  });

  it('the same counts through the suggestion code give TCP for the IP on 443, as service-entries does', () => {
    const counts = blockedProtocolCounts('tcp', '198.51.100.9', 3);
    const fromBlocked = plan([row('198.51.100.9', 443, { ...counts, ip: '198.51.100.9' })]).suggestions[0]!;
    const fromPassthrough = plan([tcp('198.51.100.9', 443, { ip: '198.51.100.9' })]).suggestions[0]!;
    expect(fromBlocked.resource.spec.ports).toEqual([{ number: 443, name: 'tcp-443', protocol: 'TCP' }]);
    expect(fromPassthrough.resource.spec.ports).toEqual(fromBlocked.resource.spec.ports);
  });
});

describe('6. the wildcard warning advises only what Istio accepts', () => {
  const members = ['a', 'b', 'c', 'd', 'e'].map((l) => tls(`${l}.api.example.com`, 443));
  const p = plan([...members, http('a.api.example.com', 80)]);
  const w = p.suggestions[0]!;

  it('says DYNAMIC_DNS needs TLS instead of HTTPS, never DYNAMIC_DNS with HTTPS', () => {
    const text = w.warnings[0]!;
    expect(text).toMatch(/DYNAMIC_DNS/);
    expect(text).toMatch(/declare port 443 as TLS instead of HTTPS \(Istio rejects HTTPS with DYNAMIC_DNS\)/);
  });

  it(
    'the advised variant is accepted by Istio, the literal HTTPS one is rejected',
    async () => {
      const variant = asDynamicDns(w.resource)!;
      expect(variant.spec.ports).toEqual([
        { number: 80, name: 'http', protocol: 'HTTP' },
        { number: 443, name: 'tls-443', protocol: 'TLS' },
      ]);
      const doc = (spec: object, name: string) =>
        `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ${name}, namespace: probe}\nspec: ${JSON.stringify(spec)}\n`;
      // validated on its own: it is an alternative to the wildcard entry, not to be applied with it
      const accepted = await validateWithIstio(doc(variant.spec, 'dyn'));
      expect(accepted.errors).toEqual([]);
      const rejected = await validateWithIstio(
        doc({ ...variant.spec, ports: w.resource.spec.ports }, 'dyn-https'),
      );
      expect(rejected.errors.join(' ')).toMatch(/only HTTP, TLS, GRPC, and HTTP2 protocols are supported/);
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});

describe('7. "was not in the logs" only when the host really was not', () => {
  const recovered = { host: '192.0.2.80', confidence: 0.8, note: 'SNI seen earlier for this IP' };

  it('a host seen only through recovery: "was not in the logs"', () => {
    const p = plan([tls('only-recovered.example.com', 443, { ip: '192.0.2.80', recoveredFrom: recovered })]);
    expect(p.suggestions[0]!.warnings.join(' ')).toMatch(
      /host only-recovered\.example\.com was not in the logs/,
    );
  });

  it('a host also seen by name (separate row): no such claim', () => {
    const p = plan([
      tls('both.example.com', 443),
      tls('both.example.com', 8443, { ip: '192.0.2.80', recoveredFrom: recovered }),
    ]);
    const text = p.suggestions[0]!.warnings.join(' ');
    expect(text).not.toMatch(/was not in the logs/);
    expect(text).toMatch(/which the logs also show by name/);
  });

  it('a merged row that says only part of it was recovered: no such claim', () => {
    const p = plan([
      tls('merged.example.com', 443, { requests: 10, recoveredFrom: recovered, recoveredRequests: 4 }),
    ]);
    expect(p.suggestions[0]!.warnings.join(' ')).not.toMatch(/was not in the logs/);
  });
});

describe('8. link-local and single-label names are flagged, not suggested', () => {
  const p = plan([
    http('169.254.169.254', 80),
    tcp('fe80::1', 22),
    http('backend', 8080, { ip: '10.0.0.8' }),
    http('metadata.google.internal', 80, { ip: '169.254.169.254' }),
    http('api.example.com', 80),
  ]);

  it('only the ordinary destination is suggested', () => {
    expect(p.suggestions.map((s) => s.hosts[0])).toEqual(['api.example.com']);
  });

  it('each flagged with its reason', () => {
    expect(p.flagged.map((f) => [f.host, f.reason])).toEqual(
      [
        ['169.254.169.254', 'link-local'],
        ['fe80::1', 'link-local'],
        ['metadata.google.internal', 'link-local'],
        ['backend', 'single-label'],
      ].sort((a, b) => (`${a[1]}|${a[0]}` < `${b[1]}|${b[0]}` ? -1 : 1)),
    );
    const meta = p.flagged.find((f) => f.host === '169.254.169.254')!;
    expect(meta.detail).toMatch(/cloud instance metadata service/);
    expect(p.flagged.find((f) => f.host === 'backend')!.detail).toMatch(
      /backend\.<namespace>\.svc\.cluster\.local/,
    );
  });
});

describe('--namespace / --export-to', () => {
  it('set metadata.namespace and spec.exportTo of every suggestion', () => {
    const p = plan([tls('api.example.com'), tcp('192.0.2.9', 5432)], {
      namespace: 'egress',
      exportTo: ['.', 'shop'],
    });
    for (const s of p.suggestions) {
      expect(s.resource.metadata.namespace).toBe('egress');
      expect(s.resource.spec.exportTo).toEqual(['.', 'shop']);
    }
  });
});

describe('the validator itself', () => {
  const se = (name: string, spec: string) =>
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ${name}, namespace: probe}\nspec: ${spec}\n`;

  it(
    'fails a TCP entry without addresses on IST0134 and passes it with addresses',
    async () => {
      const tcp =
        '{hosts: [db.example.com], ports: [{number: 5672, name: tcp-5672, protocol: TCP}], resolution: DNS';
      const without = await validateWithIstio(se('no-addr', `${tcp}}`));
      expect(without.ok).toBe(false);
      expect(without.errors.join('\n')).toMatch(/ServiceEntry\/probe\/no-addr: \[IST0134\]/);
      const withAddr = await validateWithIstio(se('addr', `${tcp}, addresses: [192.0.2.7]}`));
      expect(withAddr.errors).toEqual([]);
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );

  it(
    'checks Sidecar resources too (a later issue suggests them)',
    async () => {
      const sidecar = (name: string, hosts: string) =>
        `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: ${name}, namespace: shop}\n` +
        `spec: {egress: [{hosts: ${hosts}}]}\n`;
      const good = await validateWithIstio(
        sidecar('good', '["./*", "istio-system/*", "egress/api.example.com"]'),
      );
      expect(good.errors).toEqual([]);
      const bad = await validateWithIstio(sidecar('bad', '["backend"]'));
      expect(bad.errors.join('\n')).toMatch(/Sidecar\/shop\/bad: .*namespace\/dnsName/);
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});

describe('flagged destinations as text', () => {
  const p = planServiceEntries([
    http('reviews.shop.svc.cluster.local', 9080, { namespaces: ['shop'] }),
    http('evil\r\nkind: Pod.example.com', 80),
  ]);

  it('YAML header comments: one paragraph each, client text cannot leave the comment', () => {
    const lines = flaggedCommentLines(p.flagged);
    expect(lines[0]).toBe('# 2 destination(s) flagged, no ServiceEntry suggested:');
    for (const l of lines) expect(l.startsWith('#')).toBe(true);
    expect(lines.join('\n')).toMatch(
      /in-mesh: reviews\.shop\.svc\.cluster\.local \(ports 9080, 10 requests, from shop\)/,
    );
    expect(lines.join('\n')).not.toMatch(/\nkind: Pod/);
  });

  it('table: host, reason, ports, requests, namespaces, then the details', () => {
    const t = flaggedTable(p.flagged);
    expect(t).toMatch(/flagged, no ServiceEntry suggested \(2\):/);
    expect(t).toMatch(/^reviews\.shop\.svc\.cluster\.local\s+in-mesh\s+9080\s+10\s+shop$/m);
    expect(t).not.toMatch(/\r|\nkind: Pod/);
    expect(flaggedTable([])).toBe('');
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
