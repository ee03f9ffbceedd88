import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadRegistry,
  parseRegistryText,
  protocolFromName,
  RegistryError,
} from '../../reports/registry/registry.js';
import { ISTIO_BUILD_TIMEOUT_MS, validateWithIstio } from '../helpers/istio-validator.js';
import { JSON_LIST, KUBECTL_LIST, MULTI_DOC } from './registry-fixtures.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'egresslens-registry-'));
  await writeFile(join(dir, 'kubectl-list.yaml'), KUBECTL_LIST);
  await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'nested', 'multi.yml'), MULTI_DOC);
  await writeFile(join(dir, 'nested', 'deeper', 'list.json'), JSON_LIST);
  await writeFile(join(dir, 'nested', 'README.md'), '# not yaml: kind: ServiceEntry\n');
  await writeFile(join(dir, 'nested', 'empty.yaml'), '');
  await mkdir(join(dir, 'broken'));
  await writeFile(
    join(dir, 'broken', 'bad.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkey: [unclosed\n',
  );
  await writeFile(
    join(dir, 'broken', 'nohosts.yaml'),
    'kind: List\nitems:\n- kind: ConfigMap\n  apiVersion: v1\n- apiVersion: networking.istio.io/v1\n  kind: ServiceEntry\n  metadata: {name: x}\n  spec: {ports: []}\n',
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadRegistry', () => {
  it('reads a kubectl List, keeping only ServiceEntries, without the status/managedFields noise', async () => {
    const entries = await loadRegistry([join(dir, 'kubectl-list.yaml')]);
    expect(entries).toEqual([
      {
        name: 'google',
        namespace: 'default',
        hosts: ['www.google.com'],
        ports: [{ number: 443, protocol: 'HTTPS', name: 'https' }],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
        source: join(dir, 'kubectl-list.yaml'),
      },
      {
        name: 'payments-api',
        namespace: 'payments',
        hosts: ['api.stripe.com'],
        ports: [{ number: 443, protocol: 'HTTPS', name: 'https' }],
        exportTo: ['.'],
        resolution: 'DNS',
        location: 'MESH_EXTERNAL',
        source: join(dir, 'kubectl-list.yaml'),
      },
      {
        name: 'legacy-ftp',
        namespace: 'ops',
        hosts: ['ftp.legacy.example'],
        ports: [{ number: 21, protocol: 'TCP', name: 'tcp-21' }],
        resolution: 'DNS',
        source: join(dir, 'kubectl-list.yaml'),
      },
    ]);
  });

  it('reads a multi-document file: any networking.istio.io version, other kinds and empty docs skipped', async () => {
    const entries = await loadRegistry([join(dir, 'nested', 'multi.yml')]);
    expect(entries.map((e) => [e.namespace, e.name, e.hosts])).toEqual([
      ['shop', 'example-wildcard', ['*.example.com']],
      ['default', 'httpbin-ext', ['httpbin.org']],
    ]);
  });

  it('reads folders recursively (.yaml, .yml, .json; other files ignored), in path order', async () => {
    const entries = await loadRegistry([join(dir, 'nested'), join(dir, 'kubectl-list.yaml')]);
    expect(entries.map((e) => e.name)).toEqual([
      'db',
      'example-wildcard',
      'httpbin-ext',
      'google',
      'payments-api',
      'legacy-ftp',
    ]);
    const db = entries[0]!;
    expect(db).toMatchObject({
      namespace: 'data',
      addresses: ['192.0.2.0/24'],
      exportTo: ['data', 'shop'],
      source: join(dir, 'nested', 'deeper', 'list.json'),
    });
  });

  it('reads a file once even when named twice', async () => {
    const entries = await loadRegistry([join(dir, 'kubectl-list.yaml'), join(dir, 'kubectl-list.yaml')]);
    expect(entries).toHaveLength(3);
  });

  it('names the file and the document in YAML errors', async () => {
    const file = join(dir, 'broken', 'bad.yaml');
    await expect(loadRegistry([file])).rejects.toThrow(RegistryError);
    await expect(loadRegistry([file])).rejects.toThrow(`${file}, document 2:`);
  });

  it('names the file, document and list item of an invalid ServiceEntry', async () => {
    const file = join(dir, 'broken', 'nohosts.yaml');
    await expect(loadRegistry([file])).rejects.toThrow(
      `${file}, document 1, items[1]: ServiceEntry x: spec.hosts must be a list of strings`,
    );
  });

  it('fails on a missing path', async () => {
    await expect(loadRegistry([join(dir, 'nope.yaml')])).rejects.toThrow(/ENOENT/);
  });
});

describe('parseRegistryText', () => {
  it('infers the protocol from the port name as Istio does, and defaults the namespace', () => {
    const [e] = parseRegistryText(
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\nspec:\n  hosts: [a.test]\n  ports:\n  - {number: "8080", name: http-alt}\n  - {number: 9000, name: grpc-web-x}\n  - {number: 1, protocol: tls}\n',
      'inline',
    );
    expect(e!.namespace).toBe('default');
    expect(e!.ports).toEqual([
      { number: 8080, protocol: 'HTTP', name: 'http-alt' },
      { number: 9000, protocol: 'GRPC-WEB', name: 'grpc-web-x' },
      { number: 1, protocol: 'TLS', name: '' },
    ]);
    expect(protocolFromName('mongo')).toBe('MONGO');
    expect(protocolFromName('whatever')).toBe('TCP');
  });

  it('ignores ServiceEntry kinds of other API groups', () => {
    expect(
      parseRegistryText('apiVersion: other.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\n', 'x'),
    ).toEqual([]);
  });

  it('rejects a bad port number with its position', () => {
    expect(() =>
      parseRegistryText(
        'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\nspec: {hosts: [a], ports: [{number: http}]}\n',
        'f.yaml',
      ),
    ).toThrow('f.yaml, document 1: ServiceEntry a: spec.ports[0].number must be a port number, got "http"');
  });

  it('rejects an address that is neither an IP nor a CIDR, with its position; IPs and CIDRs of both families pass', () => {
    const entry = (addresses: string) =>
      `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a}\nspec: {hosts: [a.test], addresses: ${addresses}}\n`;
    expect(() => parseRegistryText(entry('["10.0.0.0/8", "api.example.com"]'), 'f.yaml')).toThrow(
      'f.yaml, document 1: ServiceEntry a: spec.addresses[1] is not an IP address or CIDR: "api.example.com"',
    );
    expect(() => parseRegistryText(entry('["10.0.0.0/33"]'), 'f.yaml')).toThrow(
      'spec.addresses[0] is not an IP address or CIDR: "10.0.0.0/33"',
    );
    const [e] = parseRegistryText(entry('["10.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"]'), 'f.yaml');
    expect(e!.addresses).toEqual(['10.0.0.1', '10.0.0.0/8', '2001:db8::/32', '::1']);
  });

  it("Istio's validation refuses the same address the registry refuses", {
    timeout: ISTIO_BUILD_TIMEOUT_MS,
  }, async () => {
    const verdict = await validateWithIstio(
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: a, namespace: shop}\nspec:\n  hosts: [a.example.com]\n  addresses: [api.example.com]\n  ports: [{number: 443, name: tls, protocol: TLS}]\n  resolution: NONE\n  location: MESH_EXTERNAL\n',
    );
    expect(verdict.ok).toBe(false);
    expect(verdict.errors.join('\n')).toContain('api.example.com is not a valid IP');
  });
});
