/** User mistakes get one line saying what to do and a non-zero exit; no stack traces. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURE, hasStack, runCli } from './run-cli.js';

function oneLine(stderr: string): string[] {
  return stderr.trim().split('\n');
}

describe('command line basics', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`egresslens ${pkg.version}`);
  });

  it('help COMMAND prints that command usage; help alone the command list', async () => {
    const r = await runCli(['help', 'report']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: egresslens report /);
    expect((await runCli(['help'])).stdout).toMatch(/commands:/);
    const bad = await runCli(['help', 'nosuch']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no command "nosuch"/);
  });

  it('a bad flag prints that command usage, exit 2', async () => {
    const r = await runCli(['ingest', '--bogus', FIXTURE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
    expect(r.stderr).toMatch(/usage: egresslens ingest /);
    expect(r.stderr).not.toMatch(/usage: egresslens <command>/);
  });
});

describe('the compose quick start', () => {
  it('deploy/sample-logs holds tracked lines that parse', async () => {
    const sample = fileURLToPath(new URL('../../deploy/sample-logs/istio-proxy.log', import.meta.url));
    const ignored = spawnSync('git', ['check-ignore', '-q', sample]);
    expect(ignored.status).toBe(1); // 1: not ignored, so it is in the repository
    const r = await runCli(['parse', sample]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^parsed (\d+) of \1 lines, 0 failed/);
  });
});

describe('one line, what to do, non-zero exit', () => {
  for (const args of [
    ['--since', 'yesterday'],
    ['--since', '5x'],
    ['--until', '1h', '--since', '30m'],
  ]) {
    it(`report ${args.join(' ')}`, async () => {
      const r = await runCli(['report', 'hosts', '--data', tmpdir(), ...args]);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^egresslens: --since /);
      expect(hasStack(r.stderr)).toBe(false);
    });
  }

  it('--server that nothing listens on', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await runCli(['report', 'hosts', '--server', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      `egresslens: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): is egresslens serve running there? Check --server`,
    ]);
  });

  it('--server without a scheme', async () => {
    const r = await runCli(['report', 'hosts', '--server', 'localhost:8080']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--server wants a URL like http:\/\/127\.0\.0\.1:8080/);
  });

  it('parse FILE | head -2 exits 0 quietly when the reader closes the pipe', async () => {
    const big = Buffer.concat(Array.from({ length: 200 }, () => readFileSync(FIXTURE))); // 40k lines
    const child = spawn(process.execPath, [CLI, 'parse', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.on('error', () => {}); // the parser may stop reading before all of it is written
    child.stdin.end(big);
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        seen += d;
        if (seen.split('\n').length > 2) {
          child.stdout.destroy(); // what `head -2` does after its second line
          resolve();
        }
      });
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('ingest --format nosuchformat says "unknown format", as parse does', async () => {
    const data = join(tmpdir(), `el-fmt-${process.pid}`);
    const ingest = await runCli(['ingest', '--data', data, '--format', 'nosuchformat', FIXTURE]);
    const parse = await runCli(['parse', '--format', 'nosuchformat', FIXTURE]);
    for (const r of [ingest, parse]) {
      expect(r.code).not.toBe(0);
      expect(oneLine(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^egresslens: unknown format "nosuchformat": use auto, json, one of istio/);
    }
    expect(existsSync(data)).toBe(false); // refused before a store was created
  });

  it('ingest of a file that does not exist names it', async () => {
    const r = await runCli(['ingest', '--data', join(tmpdir(), 'el-nofile'), '/no/such/file.log']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      'egresslens: cannot read /no/such/file.log: no such file or directory',
    ]);
  });

  it('report --data on a directory that does not exist refuses, creating nothing', async () => {
    const data = join(tmpdir(), `el-typo-${process.pid}`);
    const r = await runCli(['report', 'hosts', '--data', data]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/no data directory .*el-typo.*--data DIR/);
    expect(existsSync(data)).toBe(false);
  });

  it('serve with brokers but no topic names --kafka-topic', async () => {
    const r = await runCli(['serve', '--kafka-brokers', '127.0.0.1:9092']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toEqual([
      'egresslens: invalid configuration: kafka.topic (--kafka-topic): missing',
    ]);
  });
});
