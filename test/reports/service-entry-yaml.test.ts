import { ServiceEntry as ServiceEntryV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { diffAgainstRegistry } from '../../reports/registry/registry-diff.js';
import {
  ServiceEntryValidationError,
  validateServiceEntry,
} from '../../reports/service-entries/service-entry-validate.js';
import { toJson, toTable, toYaml as writeYaml } from '../../reports/service-entries/service-entry-yaml.js';
import { suggestServiceEntries } from '../../reports/service-entries/suggest-service-entries.js';
import type { Suggestion } from '../../reports/service-entries/suggestion.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { grpc, http, tcp, tls } from './traffic.js';

/** Every YAML these tests write is also run through Istio's validator (last test). */
const toYaml: typeof writeYaml = (suggestions, opts) =>
  recordIstioYaml(expect.getState().currentTestName ?? 'yaml', writeYaml(suggestions, opts));

const traffic = [
  http('httpbin.org', 80, { examplePaths: ['/headers?api_key=s3cret'] }),
  tls('www.google.com', 443),
  grpc('grpc.example.net', 9090),
  tcp('db.example.net', 5432),
  tcp('93.184.215.14', 8883),
  tls('2001:db8::7', 443),
  ...['a', 'b', 'c', 'd', 'e'].map((l) => tls(`${l}.cdn.example.com`, 443)),
];

/** Istio's v1 ServiceEntry is v1beta1 promoted unchanged: one schema checks both (@kubernetes-models/istio 2.x). */
const checkedAsV1beta1 = (obj: Record<string, unknown>) =>
  new ServiceEntryV1beta1({
    ...obj,
    apiVersion: 'networking.istio.io/v1beta1',
  } as unknown as ConstructorParameters<typeof ServiceEntryV1beta1>[0]);

describe.each(['networking.istio.io/v1', 'networking.istio.io/v1beta1'] as const)(
  'toYaml %s',
  (apiVersion) => {
    const suggestions = suggestServiceEntries(traffic, { namespace: 'istio-egress' });
    const text = toYaml(suggestions, { apiVersion });
    const docs = parseAllDocuments(text);

    it('writes one --- separated document per suggestion', () => {
      expect(Array.isArray(docs)).toBe(true);
      expect(docs).toHaveLength(suggestions.length);
      expect(text.split('\n').filter((l) => l === '---')).toHaveLength(suggestions.length);
      for (const d of docs) expect(d.errors).toEqual([]);
    });

    it('every document re-parses into a valid ServiceEntry of that apiVersion', () => {
      docs.forEach((d, i) => {
        const obj = d.toJS() as Record<string, unknown>;
        expect(obj['apiVersion']).toBe(apiVersion);
        expect(obj['kind']).toBe('ServiceEntry');
        const parsed = checkedAsV1beta1(obj);
        expect(() => parsed.validate()).not.toThrow();
        expect(obj['spec']).toEqual(suggestions[i]!.resource.spec);
        expect(obj['metadata']).toEqual(suggestions[i]!.resource.metadata);
      });
    });

    it('puts evidence and warnings in a header comment per document', () => {
      docs.forEach((d, i) => {
        const s = suggestions[i]!;
        const comment = (d.contents?.commentBefore ?? '') + (d.commentBefore ?? '');
        expect(comment).toContain(`ServiceEntry ${s.name}`);
        expect(comment).toContain(`requests: ${s.evidence.requests}`);
        expect(comment).toContain(`source namespaces: ${s.evidence.namespaces.join(', ')}`);
        expect(comment.match(/WARNING:/g)?.length ?? 0).toBe(s.warnings.length);
      });
      expect(text).not.toContain('s3cret');
      expect(text).toContain('example paths: /headers');
    });

    it('IP-only entries carry the warning as a comment, including on addresses', () => {
      const i = suggestions.findIndex(
        (s) => s.kind === 'ip' && s.evidence.observedHosts[0] === '93.184.215.14',
      );
      const doc = text.split('---\n')[i + 1]!;
      expect(doc).toMatch(/# WARNING: IP-only destination 93\.184\.215\.14/);
      expect(doc).toMatch(
        /# IP-only: breaks when this IP changes; a hostname \(resolution DNS\) is better\.\n\s+addresses:/,
      );
    });
  },
);

describe('toYaml safety', () => {
  it('client-controlled text cannot escape a comment', () => {
    const evil = http('evil.test', 80, { examplePaths: ['/x\r\nspec:\n  hosts: ["*"]\u2028boom'] });
    const text = toYaml(suggestServiceEntries([evil]));
    const docs = parseAllDocuments(text);
    expect(docs).toHaveLength(1);
    const obj = docs[0]!.toJS() as { spec: { hosts: string[] } };
    expect(obj.spec.hosts).toEqual(['evil.test']);
  });

  it('throws on an invalid resource', () => {
    const [s] = suggestServiceEntries([http('httpbin.org')]);
    const broken: Suggestion = structuredClone(s!);
    broken.resource.spec.ports[0]!.number = 70000;
    expect(() => toYaml([broken])).toThrow(ServiceEntryValidationError);
    expect(() => toYaml([broken])).toThrow(/port 70000 is not 1-65535/);
    const wildDns: Suggestion = structuredClone(s!);
    wildDns.resource.spec.hosts = ['*.example.com'];
    expect(() => toYaml([wildDns])).toThrow(/wildcard host \*\.example\.com cannot use resolution DNS/);
    const badEnum = structuredClone(s!) as unknown as { resource: { spec: { resolution: string } } };
    badEnum.resource.spec.resolution = 'MAGIC';
    expect(() => toYaml([badEnum as unknown as Suggestion])).toThrow(/resolution/);
  });

  it('validateServiceEntry also checks STATIC endpoints, duplicate ports and names', () => {
    const base = {
      metadata: { name: 'x' },
      spec: {
        hosts: ['x.test'],
        ports: [{ number: 1, name: 'tcp-1', protocol: 'TCP' }],
        resolution: 'STATIC',
      },
    };
    expect(() => validateServiceEntry(base, 'networking.istio.io/v1')).toThrow(/STATIC needs endpoints/);
    const dup = structuredClone(base) as { metadata: { name: string }; spec: Record<string, unknown> };
    dup.spec['resolution'] = 'DNS';
    dup.spec['ports'] = [
      { number: 1, name: 'a', protocol: 'TCP' },
      { number: 1, name: 'a', protocol: 'TCP' },
    ];
    dup.metadata.name = 'Not_Valid';
    expect(() => validateServiceEntry(dup, 'networking.istio.io/v1')).toThrow(
      /not a DNS-1123 label.*declared twice.*declared twice/,
    );
  });

  it('quotes what YAML 1.1 (kubectl) would not read as a string', () => {
    const [s] = suggestServiceEntries([http('httpbin.org', 80, { namespaces: ['yes'], workloads: ['on'] })]);
    const text = toYaml([s!]);
    expect(text).toContain('egresslens.io/source-namespaces: "yes"');
    expect(text).toContain('egresslens.io/first-seen: "2026-01-10T10:00:00.000Z"');
    const [doc] = parseAllDocuments(text, { version: '1.1' });
    const annotations = (doc!.toJS() as { metadata: { annotations: Record<string, unknown> } }).metadata
      .annotations;
    for (const v of Object.values(annotations)) expect(typeof v).toBe('string');
    expect(() => checkedAsV1beta1(doc!.toJS({ maxAliasCount: 0 })).validate()).not.toThrow();
  });

  it('no suggestions → empty text', () => {
    expect(toYaml([])).toBe('');
  });
});

describe('toJson', () => {
  it('plain deep copies with evidence and warnings, serialisable, apiVersion applied', () => {
    const suggestions = suggestServiceEntries(traffic);
    const json = toJson(suggestions, { apiVersion: 'networking.istio.io/v1beta1' });
    expect(json).toHaveLength(suggestions.length);
    const round = JSON.parse(JSON.stringify(json));
    expect(round).toEqual(json);
    expect(json[0]).toMatchObject({ name: suggestions[0]!.name, kind: suggestions[0]!.kind });
    expect(json[0]!.evidence).toEqual(suggestions[0]!.evidence);
    expect(json.every((j) => j.resource.apiVersion === 'networking.istio.io/v1beta1')).toBe(true);
    expect(suggestions[0]!.resource.apiVersion).toBe('networking.istio.io/v1');
    json[0]!.warnings.push('x');
    expect(suggestions[0]!.warnings).not.toContain('x');
  });
});

describe('toTable', () => {
  const suggestions = suggestServiceEntries(traffic);

  it('aligns columns under the headers', () => {
    const lines = toTable(suggestions).trimEnd().split('\n');
    expect(lines).toHaveLength(suggestions.length + 1);
    const header = lines[0]!;
    for (const h of ['HOST', 'PORTS', 'REQUESTS', 'NAMESPACES', 'FIRST SEEN', 'LAST SEEN', 'STATUS']) {
      expect(header).toContain(h);
    }
    const col = (h: string) => header.indexOf(h);
    for (const line of lines.slice(1)) {
      // each column starts after two spaces at the header's offset
      for (const h of ['PORTS', 'NAMESPACES', 'FIRST SEEN', 'LAST SEEN', 'STATUS']) {
        expect(line.slice(col(h) - 2, col(h))).toBe('  ');
        expect(line[col(h)]).not.toBe(' ');
      }
    }
    const google = lines.find((l) => l.startsWith('www.google.com'))!;
    expect(google).toContain('443/HTTPS');
    expect(google).toContain('2026-01-10 10:00Z');
    expect(google).toContain('suggested');
    expect(lines.find((l) => l.startsWith('*.cdn.example.com (5 hosts)'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('93.184.215.14 (IP only)'))).toMatch(
      /8883\/TCP.*suggested, 1 warning$/,
    );
  });

  it('shows registry status when given a diff', () => {
    const diff = diffAgainstRegistry(suggestions, traffic, [
      {
        name: 'google',
        namespace: 'default',
        hosts: ['www.google.com'],
        ports: [{ number: 443, protocol: 'HTTPS', name: 'https' }],
        source: 'x.yaml',
      },
    ]);
    const table = toTable(suggestions, { diff });
    expect(table).toMatch(/^www\.google\.com .*covered by default\/google$/m);
    expect(table).toMatch(/^httpbin\.org .*missing$/m);
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
