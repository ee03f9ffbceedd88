/**
 * The ServiceEntries already in the mesh, read from YAML/JSON files or folders (searched recursively for `.yaml`,
 * `.yml`, `.json`): multi-document streams, `kind: List` / `ServiceEntryList` with `items` (the output of
 * `kubectl get serviceentries -A -o yaml` or `-o json`), or single objects. Only `kind: ServiceEntry` of any
 * `networking.istio.io` version is kept; other kinds are skipped. Errors name the file and the document (1-based)
 * and, inside a list, the item index.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseAddressRange } from '../shared/address-range.js';
import { normalizeHost } from '../shared/host-match.js';

export interface RegistryPort {
  number: number;
  /** As declared, or inferred from the name prefix (`http-foo` → `HTTP`) as Istio does; `TCP` otherwise. */
  protocol: string;
  /** `''` when the entry gave none. */
  name: string;
}

export interface RegistryEntry {
  name: string;
  /** `default` when absent. */
  namespace: string;
  /** Lowercased, without a trailing dot. */
  hosts: string[];
  ports: RegistryPort[];
  exportTo?: string[];
  addresses?: string[];
  resolution?: string;
  location?: string;
  /** The file it was read from. */
  source: string;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const PROTOCOLS = [
  'HTTP',
  'HTTPS',
  'GRPC',
  'GRPC-WEB',
  'HTTP2',
  'MONGO',
  'REDIS',
  'MYSQL',
  'TCP',
  'TLS',
  'UDP',
];

export class RegistryError extends Error {
  constructor(
    readonly file: string,
    readonly where: string,
    message: string,
  ) {
    super(`${file}${where ? `, ${where}` : ''}: ${message}`);
    this.name = 'RegistryError';
  }
}

/** Every ServiceEntry in `paths` (files or folders), in path order. */
export async function loadRegistry(paths: string[]): Promise<RegistryEntry[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) await collect(p, true, files, seen);
  const entries: RegistryEntry[] = [];
  for (const file of files) entries.push(...parseRegistryText(await readFile(file, 'utf8'), file));
  return entries;
}

async function collect(path: string, explicit: boolean, out: string[], seen: Set<string>): Promise<void> {
  const st = await stat(path);
  const real = await realpath(path);
  if (seen.has(real)) return;
  seen.add(real);
  if (st.isDirectory()) {
    const names = (await readdir(path)).sort();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      await collect(join(path, name), false, out, seen);
    }
  } else if (st.isFile() && (explicit || EXTENSIONS.has(extname(path).toLowerCase()))) {
    out.push(path);
  }
}

/** The ServiceEntries in one YAML/JSON text; `source` names it in errors and entries. */
export function parseRegistryText(text: string, source: string): RegistryEntry[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return []; // an empty stream
  const entries: RegistryEntry[] = [];
  docs.forEach((doc, i) => {
    const where = `document ${i + 1}`;
    const error = doc.errors[0];
    if (error) throw new RegistryError(source, where, error.message);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (!isObject(value)) throw new RegistryError(source, where, 'expected a Kubernetes object (a mapping)');
    const kind = value['kind'];
    if (typeof kind === 'string' && (kind === 'List' || kind.endsWith('List'))) {
      const items = value['items'] ?? [];
      if (!Array.isArray(items)) throw new RegistryError(source, where, `${kind}: items is not a list`);
      items.forEach((item: unknown, j) => {
        const e = toEntry(item, source, `${where}, items[${j}]`);
        if (e) entries.push(e);
      });
      return;
    }
    const e = toEntry(value, source, where);
    if (e) entries.push(e);
  });
  return entries;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The entry, or undefined for objects that are not Istio ServiceEntries. */
function toEntry(obj: unknown, source: string, where: string): RegistryEntry | undefined {
  if (!isObject(obj)) throw new RegistryError(source, where, 'expected a Kubernetes object (a mapping)');
  const apiVersion = obj['apiVersion'];
  if (obj['kind'] !== 'ServiceEntry') return undefined;
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith('networking.istio.io/')) return undefined;
  const fail = (msg: string): never => {
    throw new RegistryError(source, where, msg);
  };
  const metadata = isObject(obj['metadata']) ? obj['metadata'] : fail('ServiceEntry without metadata');
  const name =
    typeof metadata['name'] === 'string' && metadata['name'] !== ''
      ? metadata['name']
      : fail('ServiceEntry without metadata.name');
  const label = `ServiceEntry ${name}`;
  const namespace =
    metadata['namespace'] === undefined || metadata['namespace'] === null || metadata['namespace'] === ''
      ? 'default'
      : typeof metadata['namespace'] === 'string'
        ? metadata['namespace']
        : fail(`${label}: metadata.namespace is not a string`);
  const spec = isObject(obj['spec']) ? obj['spec'] : fail(`${label}: no spec`);
  const hosts = stringList(spec['hosts']) ?? fail(`${label}: spec.hosts must be a list of strings`);
  if (hosts.length === 0) fail(`${label}: spec.hosts is empty`);
  const rawPorts = spec['ports'] ?? [];
  if (!Array.isArray(rawPorts)) fail(`${label}: spec.ports is not a list`);
  const ports = (rawPorts as unknown[]).map((p, k) => toPort(p, `${label}: spec.ports[${k}]`, fail));
  const entry: RegistryEntry = { name, namespace, hosts: hosts.map(normalizeHost), ports, source };
  for (const key of ['exportTo', 'addresses'] as const) {
    if (spec[key] === undefined || spec[key] === null) continue;
    entry[key] = stringList(spec[key]) ?? fail(`${label}: spec.${key} must be a list of strings`);
  }
  // Coverage by addresses is judged on these ranges: one that does not parse (Istio's validation refuses it
  // too) would otherwise cover nothing without a word.
  entry.addresses?.forEach((a, k) => {
    if (!parseAddressRange(a))
      fail(`${label}: spec.addresses[${k}] is not an IP address or CIDR: ${JSON.stringify(a)}`);
  });
  for (const key of ['resolution', 'location'] as const) {
    const v = spec[key];
    if (v === undefined || v === null) continue;
    entry[key] = typeof v === 'string' ? v : fail(`${label}: spec.${key} is not a string`);
  }
  return entry;
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  return v as string[];
}

function toPort(p: unknown, where: string, fail: (msg: string) => never): RegistryPort {
  if (!isObject(p)) return fail(`${where} is not a mapping`);
  const raw = p['number'];
  const number = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65535) {
    return fail(`${where}.number must be a port number, got ${JSON.stringify(raw)}`);
  }
  const name = typeof p['name'] === 'string' ? p['name'] : '';
  const declared =
    typeof p['protocol'] === 'string' && p['protocol'] !== '' ? p['protocol'].toUpperCase() : '';
  return { number, protocol: declared || protocolFromName(name), name };
}

/** Istio's protocol selection by port name: `<protocol>[-<suffix>]`, case-insensitive; TCP when unknown. */
export function protocolFromName(name: string): string {
  const prefix = name.split('-')[0]?.toUpperCase() ?? '';
  if (name.toUpperCase().startsWith('GRPC-WEB')) return 'GRPC-WEB';
  return PROTOCOLS.includes(prefix) ? prefix : 'TCP';
}
