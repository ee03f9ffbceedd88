/**
 * `egresslens report … --limit/--offset/--cidr-prefix-v4`: the CLI, run as a child process on a real chDB data
 * directory, prints one page with an "N of M" header, and refuses bad numbers with one line and a non-zero exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { insertManyDestinations } from '../helpers/many-destinations.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'egresslens.js');
const dir = mkdtempSync(join(tmpdir(), 'egresslens-report-cli-'));

beforeAll(async () => {
  const store = ChdbStore.open(dir);
  await store.migrate();
  await insertManyDestinations(store, {
    ips: 600,
    ipsPerNetwork: 100,
    v6Ips: 0,
    sniHosts: 20,
    sniParents: 20,
    httpHosts: 0,
    blockedHosts: 30,
  });
  await store.close(); // the CLI opens the directory itself (one process per chDB data directory)
});

function report(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'report', ...args, '--data', dir, '--log-level', 'silent'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('egresslens report --limit / --offset', () => {
  it('prints one page of the blocked table and says how much of the whole it is', () => {
    const r = report('blocked', '--limit', '5');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^5 of 30 destinations; use limit and offset/m);
    expect(r.stdout.split('\n').filter((l) => /\.blocked\.example/.test(l))).toHaveLength(5);
    const next = report('blocked', '--limit', '5', '--offset', '28', '--format', 'json');
    expect(next.code, next.stderr).toBe(0);
    const json = JSON.parse(next.stdout);
    expect(json).toMatchObject({ total: 30, truncated: true, limit: 5, offset: 28 });
    expect(json.destinations).toHaveLength(2);
  });

  it('service-entries: YAML header N of M, CIDR entries by the given prefix', () => {
    // 6 networks of 100 IPs (/24) and 20 SNI hosts.
    const r = report('service-entries', '--limit', '4');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# 4 of 26 suggestion\(s\); use limit and offset/m);
    expect(r.stdout).toMatch(
      /^# 600 IP-only destinations grouped into 6 network \(CIDR\) entries \(\/24 IPv4/m,
    );
    const wide = report('service-entries', '--format', 'json', '--cidr-prefix-v4', '16', '--limit', '100');
    expect(wide.code, wide.stderr).toBe(0);
    const json = JSON.parse(wide.stdout);
    // One /16, split by port set: 443 and 5432 (every fifth /24 in the data is a database).
    expect(json.cidrGroups).toMatchObject({ entries: 2, ips: 600, prefix: { v4: 16 } });
    expect(json).toMatchObject({ total: 22, truncated: false });
  });

  it('refuses a bad number with a one-line error saying what to do, and exits non-zero', () => {
    for (const args of [
      ['--limit', '0'],
      ['--limit', 'many'],
      ['--limit', '100001'],
      ['--offset=-3'],
      ['--cidr-prefix-v4', '33'],
    ]) {
      const r = report('hosts', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      // The error is one line (the CLI's usage summary follows it, as for every usage error).
      expect(r.stderr.split('\n')[0]).toMatch(
        new RegExp(`^egresslens: ${args[0]!.split('=')[0]} takes a whole number from`),
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
