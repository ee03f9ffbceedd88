/**
 * The CLI end to end on the sample log: `egresslens ingest` into a fresh embedded store, then
 * `egresslens report service-entries` with `--entry-namespace` / `--export-to`, and `report blocked --format json`;
 * every ServiceEntry it prints goes through Istio's validator (last test).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';

const CLI = join(process.cwd(), 'dist', 'bin', 'egresslens.js');
const data = mkdtempSync(join(tmpdir(), 'egresslens-cli-se-'));

const egresslens = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

beforeAll(() => {
  execFileSync(process.execPath, [CLI, 'ingest', '--data', data, 'test/fixtures/sample-istio.log'], {
    stdio: 'ignore',
    timeout: 60_000,
  });
});

describe('egresslens report service-entries', () => {
  it('--entry-namespace and --export-to set metadata.namespace and spec.exportTo of every entry', () => {
    const r = egresslens(
      'report',
      'service-entries',
      '--data',
      data,
      '--since',
      '100000d',
      '--entry-namespace',
      'egress',
      '--export-to',
      '., shop',
    );
    expect(r.status, r.stderr).toBe(0);
    recordIstioYaml('cli service-entries --entry-namespace egress --export-to ., shop', r.stdout);
    const docs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS())
      .filter(Boolean);
    expect(docs.length).toBeGreaterThan(5);
    for (const d of docs) {
      expect(d.metadata.namespace).toBe('egress');
      expect(d.spec.exportTo).toEqual(['.', 'shop']);
    }
  });

  it('an exportTo Istio would reject is a usage error with one line saying why', () => {
    const r = egresslens('report', 'service-entries', '--data', data, '--export-to', '*,shop');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'egresslens: --export-to: exportTo "*" (every namespace) must be alone',
    );
    expect(r.stdout).toBe('');
  });

  it('the flags apply to the reports that suggest entries (and name in-mesh hosts) only', () => {
    const r = egresslens('report', 'timeouts', '--data', data, '--entry-namespace', 'egress');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      'egresslens: --entry-namespace applies to report service-entries, blocked, not timeouts',
    );
    const t = egresslens('report', 'timeouts', '--data', data, '--cluster-domain', 'corp.internal');
    expect(t.status).toBe(2);
    expect(t.stderr.split('\n')[0]).toBe(
      'egresslens: --cluster-domain applies to report service-entries, blocked, readiness, hosts, not timeouts',
    );
  });

  it('report blocked --entry-namespace --export-to: the ServiceEntry of each destination has them', () => {
    const r = egresslens(
      'report',
      'blocked',
      '--data',
      data,
      '--since',
      '100000d',
      '--format',
      'json',
      '--entry-namespace',
      'egress',
      '--export-to',
      '.,shop',
    );
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout)
      .destinations.map((d: { serviceEntry: unknown }) => d.serviceEntry)
      .filter(Boolean);
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.metadata.namespace).toBe('egress');
      expect(e.spec.exportTo).toEqual(['.', 'shop']);
    }
    recordIstioYaml(
      'cli blocked --entry-namespace egress --export-to .,shop',
      entries.map((e: unknown) => `---\n${stringify(e)}`).join(''),
    );
  });

  it('a --cluster-domain that is not a DNS name is a usage error with one line', () => {
    const r = egresslens('report', 'blocked', '--data', data, '--cluster-domain', 'Corp_Internal');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cluster-domain.*DNS domain/i);
    expect(r.stdout).toBe('');
  });

  it('report blocked --format json: each destination carries the ServiceEntry that would allow it', () => {
    const r = egresslens('report', 'blocked', '--data', data, '--since', '100000d', '--format', 'json');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const entries = report.destinations.map((d: { serviceEntry: unknown }) => d.serviceEntry).filter(Boolean);
    expect(entries.length).toBeGreaterThan(0);
    recordIstioYaml(
      'cli blocked serviceEntry resources',
      entries.map((e: unknown) => `---\n${stringify(e)}`).join(''),
    );
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry the CLI printed (istioctl validate + CRD schema + analyze)',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
