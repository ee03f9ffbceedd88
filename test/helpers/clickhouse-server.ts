/**
 * Starts and stops the throwaway ClickHouse (Debian 18.16) through scripts/clickhouse-server.sh.
 * `start` may apt-install the package on a fresh machine: give the calling hook a long timeout.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/clickhouse-server.sh', import.meta.url));

export interface TestClickHouse {
  url: string;
  /** True when the server was already running before startClickHouse(); then stopIfStarted() leaves it up. */
  wasRunning: boolean;
  /** Stops the server (also when someone else started it); used to exercise retries. */
  stop(): Promise<void>;
  /** Starts it again; resolves once it answers /ping. */
  start(): Promise<string>;
  /** Stops the server only if this helper started it. */
  stopIfStarted(): Promise<void>;
}

async function script(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: 290_000, maxBuffer: 16 << 20 });
  return stdout.trim();
}

export async function isClickHouseRunning(): Promise<boolean> {
  try {
    await script('status');
    return true;
  } catch {
    return false;
  }
}

export async function startClickHouse(): Promise<TestClickHouse> {
  const wasRunning = await isClickHouseRunning();
  const url = await script('start');
  return {
    url,
    wasRunning,
    stop: async () => {
      await script('stop');
    },
    start: () => script('start'),
    stopIfStarted: async () => {
      if (!wasRunning) await script('stop');
    },
  };
}
