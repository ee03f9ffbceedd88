/**
 * Configuration as an operator writes it, and `serve` as it starts: booleans from a file, the environment and
 * flags mean what they say ("false" is false, garbage is an error naming the setting and its source), unsafe
 * token setups are refused, and every startup failure of the real CLI is one line on stderr with a non-zero
 * exit. The CLI is spawned for real (node dist/bin/egresslens.js), as a user would run it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, checkExposure, loadConfig } from '../../schemas/config.js';
import { istioLine } from '../helpers/istio-line.js';

const CLI = join(import.meta.dirname, '../../dist/bin/egresslens.js');
const tmp = mkdtempSync(join(tmpdir(), 'egresslens-config-'));
const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-fedcba9876543210';
let seq = 0;
const file = (name: string, text: string) => {
  const path = join(tmp, `${seq++}-${name}`);
  writeFileSync(path, text);
  return path;
};
const freshDir = () => join(tmp, `data-${seq++}`);

/** The environment without any EGRESSLENS_* the machine may have set. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EGRESSLENS_')) env[k] = v;
  return { ...env, ...extra };
}

const TRUE_SPELLINGS: unknown[] = [true, 'true', 'TRUE', 'True', 'yes', 'YES', 'on', 'On', '1', 1];
const FALSE_SPELLINGS: unknown[] = [false, 'false', 'FALSE', 'False', 'no', 'NO', 'off', 'Off', '0', 0];
const GARBAGE: unknown[] = ['maybe', 'tru', 'falsey', '', ' ', 2, -1, 'null', null, [], {}];

/** Each boolean setting, with where it sits in a config object. */
const BOOLEANS: Array<{ key: string; wrap: (v: unknown) => Record<string, unknown> }> = [
  { key: 'insecure', wrap: (v) => ({ insecure: v }) },
  { key: 'storeRaw', wrap: (v) => ({ storeRaw: v }) },
  { key: 'kafka.ssl', wrap: (v) => ({ kafka: { brokers: ['k:9092'], topic: 't', ssl: v } }) },
  {
    key: 'kafka.fromBeginning',
    wrap: (v) => ({ kafka: { brokers: ['k:9092'], topic: 't', fromBeginning: v } }),
  },
];
const read = (config: Record<string, unknown>, key: string) =>
  key.split('.').reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], config);

describe('strict booleans (loadConfig over real files and env)', () => {
  it('from a JSON file and a YAML file: every spelling of true and false, and real booleans', () => {
    for (const { key, wrap } of BOOLEANS) {
      for (const [spellings, expected] of [
        [TRUE_SPELLINGS, true],
        [FALSE_SPELLINGS, false],
      ] as const) {
        for (const v of spellings) {
          const json = file('c.json', JSON.stringify(wrap(v)));
          expect(read(loadConfig({ file: json, env: {} }), key), `${key}=${JSON.stringify(v)} (json)`).toBe(
            expected,
          );
        }
      }
    }
    // YAML as people write it: bare words, quoted words, numbers.
    const yaml = file(
      'c.yaml',
      'insecure: "false"\nstoreRaw: off\nkafka:\n  brokers: [k:9092]\n  topic: t\n  ssl: "False"\n  fromBeginning: 0\n',
    );
    const c = loadConfig({ file: yaml, env: {} });
    expect([c.insecure, c.storeRaw, c.kafka?.ssl, c.kafka?.fromBeginning]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    const yes = file(
      'c.yaml',
      'insecure: "yes"\nstoreRaw: true\nkafka:\n  brokers: [k:9092]\n  topic: t\n  ssl: ON\n',
    );
    const y = loadConfig({ file: yes, env: {} });
    expect([y.insecure, y.storeRaw, y.kafka?.ssl, y.kafka?.fromBeginning]).toEqual([true, true, true, true]);
  });

  it('garbage is a config error naming the setting and the file', () => {
    for (const { key, wrap } of BOOLEANS) {
      for (const v of GARBAGE) {
        const json = file('bad.json', JSON.stringify(wrap(v)));
        const err = (() => {
          try {
            loadConfig({ file: json, env: {} });
          } catch (e) {
            return e as Error;
          }
          return undefined;
        })();
        expect(err, `${key}=${JSON.stringify(v)}`).toBeInstanceOf(ConfigError);
        expect(err!.message).toContain(`${key} (file ${json})`);
        expect(err!.message).toMatch(/expected true or false/);
        expect(err!.message).not.toContain('\n');
      }
    }
  });

  it('from the environment, and env over file, flags over env', () => {
    for (const v of FALSE_SPELLINGS.filter((x) => typeof x === 'string') as string[]) {
      const c = loadConfig({ env: { EGRESSLENS_INSECURE: v, EGRESSLENS_STORE_RAW: v } });
      expect([c.insecure, c.storeRaw], v).toEqual([false, false]);
    }
    for (const v of TRUE_SPELLINGS.filter((x) => typeof x === 'string') as string[]) {
      const c = loadConfig({ env: { EGRESSLENS_INSECURE: v, EGRESSLENS_STORE_RAW: v } });
      expect([c.insecure, c.storeRaw], v).toEqual([true, true]);
    }
    const f = file('c.yaml', 'storeRaw: true\n');
    expect(loadConfig({ file: f, env: { EGRESSLENS_STORE_RAW: 'off' } }).storeRaw).toBe(false);
    expect(
      loadConfig({ file: f, env: { EGRESSLENS_STORE_RAW: 'off' }, flags: { storeRaw: true } }).storeRaw,
    ).toBe(true);
    expect(() => loadConfig({ env: { EGRESSLENS_STORE_RAW: 'nah' } })).toThrow(
      /^invalid configuration: storeRaw \(env EGRESSLENS_STORE_RAW\): expected true or false/,
    );
    expect(() => loadConfig({ env: {}, flags: { insecure: 'sure' } })).toThrow(/insecure \(command line\)/);
  });
});

describe('whole numbers', () => {
  it('take numbers and digit strings; "", booleans, fractions and words are errors, not 0 or 1', () => {
    expect(loadConfig({ env: { EGRESSLENS_PORT: '8081', EGRESSLENS_TTL_DAYS: ' 7 ' } })).toMatchObject({
      port: 8081,
      ttlDays: 7,
    });
    expect(
      loadConfig({ file: file('n.yaml', 'port: 0\ningest:\n  batchRows: "500"\n'), env: {} }),
    ).toMatchObject({
      port: 0,
      ingest: { batchRows: 500 },
    });
    for (const bad of ['', ' ', true, false, null, '80x', '1e3', 1.5, '-1', [8080]]) {
      const f = file('n.json', JSON.stringify({ port: bad }));
      expect(() => loadConfig({ file: f, env: {} }), JSON.stringify(bad)).toThrow(
        new RegExp(`^invalid configuration: port \\(file ${f}\\): expected a whole number`),
      );
    }
    expect(() => loadConfig({ env: {}, flags: { port: '70000' } })).toThrow(/port \(command line\): Too big/);
    expect(() => loadConfig({ env: {}, flags: { ingest: { maxRecords: 0 } } })).toThrow(/ingest\.maxRecords/);
  });
});

describe('tokens and exposure', () => {
  const refused = (flags: Record<string, unknown>) => {
    try {
      checkExposure(loadConfig({ env: {}, flags }));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain('\n');
      return (err as Error).message;
    }
    return undefined;
  };

  it('each token is at least 16 printable characters', () => {
    for (const key of ['authToken', 'ingestToken', 'readToken']) {
      expect(() => loadConfig({ env: {}, flags: { [key]: 'short' } })).toThrow(
        new RegExp(`${key} \\(command line\\): use at least 16 characters`),
      );
      expect(() => loadConfig({ env: {}, flags: { [key]: 'sixteen chars with spaces' } })).toThrow(
        /printable ASCII/,
      );
    }
    expect(() => loadConfig({ env: { EGRESSLENS_INGEST_TOKEN: 'x' } })).toThrow(
      /env EGRESSLENS_INGEST_TOKEN/,
    );
    expect(loadConfig({ env: { EGRESSLENS_READ_TOKEN: READ } }).readToken).toBe(READ);
  });

  it('refuses unsafe combinations with one line each', () => {
    expect(refused({ ingestToken: INGEST, readToken: INGEST })).toMatch(
      /ingestToken and readToken are the same/,
    );
    expect(refused({ authToken: READ, ingestToken: INGEST })).toMatch(/authToken .* cannot be combined/);
    expect(refused({ authToken: READ, readToken: `${READ}x` })).toMatch(/cannot be combined/);
    expect(refused({ host: '0.0.0.0' })).toMatch(/without a token for intake .* and reading/);
    expect(refused({ host: '0.0.0.0', ingestToken: INGEST })).toMatch(
      /without a token for reading \(readToken/,
    );
    expect(refused({ host: '0.0.0.0', readToken: READ })).toMatch(/without a token for intake \(ingestToken/);
    expect(refused({ host: '0.0.0.0', insecure: 'false' })).toMatch(/refusing to listen on 0\.0\.0\.0/);
  });

  it('accepts the safe ones', () => {
    expect(refused({ host: '0.0.0.0', ingestToken: INGEST, readToken: READ })).toBeUndefined();
    expect(refused({ host: '0.0.0.0', authToken: READ })).toBeUndefined();
    expect(refused({ host: '0.0.0.0', insecure: 'yes' })).toBeUndefined();
    expect(refused({ host: '127.0.0.1' })).toBeUndefined();
    expect(refused({ host: '::1', readToken: READ })).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real CLI.

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running: ChildProcess[] = [];

/** Spawns the CLI; `as` runs it as another user (uid/gid), for permission cases when the tests run as root. */
function cli(
  args: string[],
  env: Record<string, string> = {},
  as: { uid?: number; gid?: number } = {},
): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  running.push(child);
  return child;
}

/** Runs the CLI to its end (30 s at most). */
function run(
  args: string[],
  env: Record<string, string> = {},
  as: { uid?: number; gid?: number } = {},
): Promise<Run> {
  const child = cli(args, env, as);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `serve` and resolves with its URL once it says it is serving. */
async function startServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = cli(['serve', '--port', '0', ...args], env);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"address":"(http:\/\/[^"]+)".*egresslens is serving/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${err}`));
    });
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const closed = new Promise<number | null>((r) => child.on('close', r));
  child.kill('SIGTERM');
  return closed;
}

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) await stop(child);
});

/** One line on stderr saying what is wrong, no stack, a non-zero exit. */
function expectOneLine(r: Run, pattern: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^egresslens: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
}

describe('config booleans through the real CLI', () => {
  it('insecure: "false" in a file, or EGRESSLENS_INSECURE=off, does not open 0.0.0.0', async () => {
    const f = file('c.yaml', 'insecure: "false"\n');
    expectOneLine(
      await run(['serve', '--config', f, '--host', '0.0.0.0', '--data', freshDir()]),
      /refusing to listen/,
    );
    expectOneLine(
      await run(['serve', '--host', '0.0.0.0', '--data', freshDir()], { EGRESSLENS_INSECURE: 'off' }),
      /refusing to listen/,
    );
    expectOneLine(
      await run(['serve', '--data', freshDir()], { EGRESSLENS_INSECURE: 'maybe' }),
      /insecure \(env EGRESSLENS_INSECURE\): expected true or false/,
    );
    const bad = file('c.json', '{"storeRaw": "nope"}');
    expectOneLine(await run(['serve', '--config', bad, '--data', freshDir()]), /storeRaw \(file .*c\.json\)/);
  });

  it('a flag is a boolean by its presence; a value given to it is refused', async () => {
    const r = await run(['serve', '--insecure=false', '--data', freshDir()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--insecure/);
  });

  it('storeRaw "false" from a file stores no raw line; EGRESSLENS_STORE_RAW=on and --store-raw do', async () => {
    const line = istioLine({
      ts: new Date().toISOString(),
      method: 'GET',
      path: '/x',
      code: 200,
      authority: 'raw.example.com',
      cluster: 'PassthroughCluster',
    });
    const rawOf = async (args: string[], env: Record<string, string> = {}) => {
      const { child, url } = await startServe(['--data', freshDir(), ...args], env);
      try {
        const post = await fetch(`${url}/v1/ingest/lines`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: `${line}\n`,
        });
        expect(post.status, await post.text()).toBe(200);
        const q = await fetch(`${url}/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sql: 'SELECT raw FROM access_log' }),
        });
        expect(q.status).toBe(200);
        return ((await q.json()) as { rows: Array<{ raw: string }> }).rows.map((r) => r.raw);
      } finally {
        expect(await stop(child)).toBe(0);
      }
    };
    expect(await rawOf(['--config', file('c.yaml', 'storeRaw: "false"\n')])).toEqual(['']);
    expect(await rawOf([], { EGRESSLENS_STORE_RAW: 'on' })).toEqual([line]);
    expect(await rawOf(['--store-raw'])).toEqual([line]);
  });
});

describe('serve startup errors: one line, non-zero exit', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('the port is in use', async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    expectOneLine(
      await run(['serve', '--port', String(port), '--data', freshDir()]),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`),
    );
  });

  it('the address is not on this machine, or does not resolve', async () => {
    expectOneLine(
      await run(['serve', '--host', '192.0.2.1', '--insecure', '--port', '0', '--data', freshDir()]),
      /cannot listen on 192\.0\.2\.1:0: no interface of this machine has that address/,
    );
    expectOneLine(
      await run(['serve', '--host', 'no-such-host.invalid', '--insecure', '--data', freshDir()]),
      /the host name no-such-host\.invalid does not resolve/,
    );
  });

  it('the data directory is held by a running server', async () => {
    const data = freshDir();
    const { child, url } = await startServe(['--data', data]);
    try {
      expectOneLine(
        await run(['serve', '--port', '0', '--data', data]),
        new RegExp(`the data directory .* is held by egresslens serve \\(pid ${child.pid}, ${url}\\)`),
      );
      // The refused start did not disturb the running one.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });

  it('the data directory is a file, or under a file (EEXIST, ENOTDIR)', async () => {
    const plain = file('not-a-dir', 'x');
    expectOneLine(await run(['serve', '--data', plain]), /the data directory .* is a file, not a directory/);
    expectOneLine(
      await run(['serve', '--data', join(plain, 'data')]),
      /the data directory .* cannot be created: a part of its path is a file/,
    );
  });

  it('the data directory is not writable (run as nobody when the tests run as root)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'egresslens-ro-'));
    chmodSync(parent, 0o755);
    const readOnly = join(parent, 'ro');
    mkdirSync(readOnly, { mode: 0o555 });
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    for (const data of [readOnly, join(readOnly, 'data')]) {
      expectOneLine(
        await run(['serve', '--port', '0', '--data', data], {}, asUser),
        new RegExp(`the data directory ${data} is not writable \\(EACCES`),
      );
    }
  });

  it('a bad config file: missing, invalid YAML, invalid JSON, not a mapping, unknown key', async () => {
    expectOneLine(
      await run(['serve', '--config', join(tmp, 'missing.yaml')]),
      /cannot read config file .*missing\.yaml/,
    );
    expectOneLine(
      await run(['serve', '--config', file('bad.yaml', 'port: [1\nhost: x\n')]),
      /config file .*bad\.yaml is not valid YAML: .*line \d+/,
    );
    expectOneLine(await run(['serve', '--config', file('bad.json', '{"port": 1,}')]), /is not valid JSON/);
    expectOneLine(
      await run(['serve', '--config', file('list.yaml', '- a\n- b\n')]),
      /top level must be a mapping/,
    );
    expectOneLine(
      await run(['serve', '--config', file('typo.yaml', 'http:\n  requestTimeOutMs: 5\n')]),
      /http\.requestTimeOutMs \(file .*typo\.yaml\): Unrecognized key/,
    );
  });

  it('tokens: too short, the same for both roles, authToken beside role tokens, none for an exposed bind', async () => {
    expectOneLine(
      await run(['serve', '--read-token', 'short']),
      /readToken \(command line\): use at least 16/,
    );
    expectOneLine(
      await run(['serve', '--ingest-token', INGEST], { EGRESSLENS_READ_TOKEN: INGEST }),
      /ingestToken and readToken are the same/,
    );
    expectOneLine(
      await run(['serve', '--auth-token', READ, '--ingest-token', INGEST]),
      /authToken .* cannot be combined with ingestToken\/readToken/,
    );
    expectOneLine(
      await run(['serve', '--host', '0.0.0.0', '--ingest-token', INGEST]),
      /refusing to listen on 0\.0\.0\.0 without a token for reading/,
    );
  });

  it('timeouts that contradict each other', async () => {
    expectOneLine(
      await run([
        'serve',
        '--config',
        file('t.yaml', 'http:\n  headersTimeoutMs: 20000\n  requestTimeoutMs: 5000\n'),
      ]),
      /http\.headersTimeoutMs .*cannot be longer than requestTimeoutMs/,
    );
  });
});
