/** The CLI against real chDB stores, in real processes with real pipes on stdin. */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { count } from '../helpers/lines.js';
import { CLI, FIXTURE, hasStack, runCli } from './run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'el-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const FIXTURE_LINES = readFileSync(FIXTURE, 'utf8').trim().split('\n').length;

/** Opens the store in this process only after the CLI process has let it go. */
async function withStore<T>(dir: string, fn: (s: ChdbStore) => Promise<T>): Promise<T> {
  const store = ChdbStore.open(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('stdin carrying data while chDB is open', () => {
  it('cat f | egresslens ingest --data NEW - stores every line', async () => {
    const data = join(root, 'stdin-new');
    const r = await runCli(['ingest', '--data', data, '-'], { input: readFileSync(FIXTURE) });
    expect(r.stderr).not.toMatch(/Code: 48/);
    expect(r.code).toBe(0);
    await withStore(data, async (s) => {
      expect(await count(s, 'access_log')).toBe(FIXTURE_LINES);
      expect(await count(s, 'dead_letters')).toBe(0);
    });
  });

  it('echo x | egresslens ingest FILE reads the file and leaves stdin alone', async () => {
    const data = join(root, 'stdin-file');
    const r = await runCli(['ingest', '--data', data, FIXTURE], { input: 'x\n' });
    expect(r.code).toBe(0);
    await withStore(data, async (s) => {
      expect(await count(s, 'access_log')).toBe(FIXTURE_LINES);
      expect(await count(s, 'dead_letters')).toBe(0);
    });
  });

  it('echo x | egresslens report hosts --data DIR answers from the store', async () => {
    const data = join(root, 'stdin-file');
    const r = await runCli(['report', 'hosts', '--data', data, '--since', 'all', '--format', 'json'], {
      input: 'x\n',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const hosts = JSON.parse(r.stdout) as { hosts: { host: string }[] };
    expect(hosts.hosts.map((h) => h.host)).toContain('api.twilio.com');
  });
});

describe('ingest', () => {
  it('all-garbage input says 0 lines parsed, hints at --format, exits non-zero', async () => {
    const data = join(root, 'garbage');
    const r = await runCli(['ingest', '--data', data, '-'], { input: 'hello\nworld\nnot a log line\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/0 of 3 lines parsed/);
    expect(r.stderr).toMatch(/--format/);
    expect(hasStack(r.stderr)).toBe(false);
    await withStore(data, async (s) => expect(await count(s, 'dead_letters')).toBe(3));
  });

  it('is idempotent by content: the same file again, and a copy with a new time, add nothing', async () => {
    const data = join(root, 'idempotent');
    const first = await runCli(['ingest', '--data', data, FIXTURE]);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`${FIXTURE_LINES} new rows`));
    const again = await runCli(['ingest', '--data', data, FIXTURE]);
    const copy = join(root, 'copy-of-sample.log');
    copyFileSync(FIXTURE, copy);
    utimesSync(copy, new Date(), new Date(Date.now() + 60_000));
    const copied = await runCli(['ingest', '--data', data, copy]);
    for (const r of [again, copied]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/ 0 new rows \(already stored/);
    }
    await withStore(data, async (s) => expect(await count(s, 'access_log')).toBe(FIXTURE_LINES));
  });

  it('fills pod, namespace and container from kubelet file names', async () => {
    const data = join(root, 'kubelet');
    const id = 'a'.repeat(64);
    const flat = join(root, `ratings-v1-5d8f7c9b6-x2x7q_shop_istio-proxy-${id}.log`);
    copyFileSync(FIXTURE, flat);
    const podDir = join(
      root,
      'pods',
      'payments_checkout-0_0f3c2a5e-6a1b-4c1d-9a7e-2b2f6c1d9e01',
      'istio-proxy',
    );
    mkdirSync(podDir, { recursive: true });
    writeFileSync(join(podDir, '0.log'), readFileSync(FIXTURE, 'utf8').split('\n').slice(0, 10).join('\n'));
    const r = await runCli(['ingest', '--data', data, flat, join(podDir, '0.log')]);
    expect(r.code).toBe(0);
    await withStore(data, async (s) => {
      const rows = await s.query<{ ns: string; pod: string; c: string; w: string; n: string }>(
        `SELECT k8s_namespace AS ns, k8s_pod AS pod, k8s_container AS c, k8s_workload AS w, count() AS n
         FROM access_log GROUP BY ns, pod, c, w ORDER BY ns`,
      );
      expect(rows.map((x) => ({ ...x, n: Number(x.n) }))).toEqual([
        { ns: 'payments', pod: 'checkout-0', c: 'istio-proxy', w: 'checkout', n: 10 },
        {
          ns: 'shop',
          pod: 'ratings-v1-5d8f7c9b6-x2x7q',
          c: 'istio-proxy',
          w: 'ratings-v1',
          n: FIXTURE_LINES,
        },
      ]);
    });
  });

  it('--ttl-days on an existing store is applied and said', async () => {
    const data = join(root, 'ttl');
    expect((await runCli(['ingest', '--data', data, FIXTURE])).code).toBe(0);
    const r = await runCli(['ingest', '--data', data, '--ttl-days', '400', FIXTURE]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ttl: rows older than 400 days are now dropped \(access_log, dead_letters\)/);
    await withStore(data, async (s) => {
      const tables = await s.query<{ name: string; engine_full: string }>(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('access_log', 'dead_letters')",
      );
      for (const t of tables) expect(t.engine_full).toMatch(/TTL toDateTime\(\w+\) \+ toIntervalDay\(400\)/);
    });
    const same = await runCli(['ingest', '--data', data, '--ttl-days', '400', FIXTURE]);
    expect(same.stderr).not.toMatch(/ttl:/); // nothing to change, nothing said
  });
});

describe('lines as people paste them, through ingest', () => {
  it('auto reads kubectl --prefix and docker compose lines; a custom format takes the wrapper time', async () => {
    const data = join(root, 'prefixed');
    const lines = readFileSync(FIXTURE, 'utf8').trim().split('\n').slice(0, 20);
    const pasted = lines.map((l, i) =>
      i % 2
        ? `[pod/checkout-7f9c8d5b4-x2x9z/istio-proxy] ${l}`
        : `egress-proxy-1  | 2026-11-01T00:00:09.000000000Z ${l}`,
    );
    const r = await runCli(['ingest', '--data', data, '-'], { input: `${pasted.join('\n')}\n` });
    expect(r.code).toBe(0);
    const custom =
      '"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% "%REQ(:AUTHORITY)%"';
    const c = await runCli(['ingest', '--data', data, '--format', custom, '-'], {
      input:
        'web-1  | 2026-11-02T10:00:00.123456789Z "GET /status/418 HTTP/1.1" 418 "httpbin.org"\n' +
        '2026-11-02T10:00:01.50+0000 [APP/PROC/WEB/0] OUT "GET /get HTTP/1.1" 200 "httpbin.org"\n',
    });
    expect(c.code).toBe(0);
    await withStore(data, async (s) => {
      expect(await count(s, 'access_log', "format != 'custom'")).toBe(20);
      expect(await count(s, 'dead_letters')).toBe(0);
      const rows = await s.query<{ t: string; code: number }>(
        "SELECT toString(start_time) AS t, response_code AS code FROM access_log WHERE authority = 'httpbin.org' ORDER BY t",
      );
      expect(rows).toEqual([
        { t: '2026-11-02 10:00:00.123', code: 418 },
        { t: '2026-11-02 10:00:01.500', code: 200 },
      ]);
    });
  });
});

describe('serve and the egress_requests view', () => {
  it("serve re-creates the view for its --cluster-domain; the CLI's own commands leave it as serve made it", async () => {
    const data = join(root, 'view-domain');
    const serve = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--data',
        data,
        '--cluster-domain',
        'corp.internal',
        '--port',
        '0',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const advert = join(data, '.egresslens-serve.json');
    const deadline = Date.now() + 30_000;
    while (!existsSync(advert) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('close', r));
    expect((await runCli(['ingest', '--data', data, FIXTURE])).code).toBe(0);
    const definition = await withStore(data, async (s) => {
      const [row] = await s.query<{ q: string }>(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'egress_requests'",
      );
      return row?.q ?? '';
    });
    expect(definition).toContain("'corp.internal'");
  });
});

describe('while serve holds the data directory', () => {
  it('ingest names the running server address without chDB noise; report asks the server', async () => {
    const data = join(root, 'held');
    expect((await runCli(['ingest', '--data', data, FIXTURE])).code).toBe(0);
    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '--data', data, '--port', '0', '--log-level', 'warn'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const advert = join(data, '.egresslens-serve.json');
      const deadline = Date.now() + 30_000;
      while (!existsSync(advert) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const { url } = JSON.parse(readFileSync(advert, 'utf8')) as { url: string };
      expect(url).not.toMatch(/:8080$/);

      const ingest = await runCli(['ingest', '--data', data, FIXTURE]);
      expect(ingest.code).toBe(1);
      expect(ingest.stderr).not.toMatch(/Code: 76/);
      expect(ingest.stderr.trim().split('\n')).toHaveLength(1);
      expect(ingest.stderr).toContain(`${url}/v1/ingest/lines`);

      const report = await runCli(['report', 'hosts', '--data', data, '--since', 'all']);
      expect(report.code).toBe(0);
      expect(report.stderr).not.toMatch(/Code: 76/);
      expect(report.stderr).toContain(`asking it at ${url}`);
      expect(report.stdout).toMatch(/api\.twilio\.com/);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('close', r));
    }
  });
});

describe('the README "Try it" on any date', () => {
  it('reports over the fixture with --since all, whatever today is', async () => {
    const data = join(root, 'try-it');
    expect((await runCli(['ingest', '--data', data, FIXTURE])).code).toBe(0);
    const se = await runCli(['report', 'service-entries', '--data', data, '--since', 'all']);
    expect(se.code).toBe(0);
    expect(se.stdout).toMatch(/kind: ServiceEntry/);
    const blocked = await runCli(['report', 'blocked', '--data', data, '--since', 'all', '--format', 'json']);
    expect(blocked.code).toBe(0);
    expect(JSON.parse(blocked.stdout).total).toBeGreaterThan(0);
  });
});
