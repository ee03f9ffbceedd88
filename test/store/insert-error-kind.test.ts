/**
 * Data or outage, on errors the backends really throw: chDB's own exceptions for refused rows and for a
 * closed store, and the server backend's error classes as server-store.ts builds them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { clickHouseErrorCode, engineReason, insertErrorKind } from '../../store/insert-error-kind.js';
import { ClickHouseServerError } from '../../store/server-store.js';
import { StoreConfigError, StoreUnavailableError } from '../../store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-insert-error-'));
let store: ChdbStore;

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.command(
    "CREATE TABLE t (t DateTime64(3, 'UTC'), a Nullable(UInt16), s String) ENGINE = MergeTree ORDER BY tuple()",
  );
});

afterAll(async () => {
  await store.close();
});

async function chdbError(row: string): Promise<unknown> {
  try {
    await store.insert({ table: 't', body: Buffer.from(`${row}\n`), format: 'JSONCompactEachRow' });
  } catch (err) {
    return err;
  }
  throw new Error(`chDB accepted ${row}`);
}

describe('chDB errors', () => {
  it.each([
    ['[0,1e+300,"x"]', 27],
    ['[0,-1,"x"]', 72],
    ['[0,1.5,"x"]', 27],
    ['[0,1,"\\ud800"]', 25],
    ['[0,1]', 27],
    ['not json', 27],
  ])('%s is a data error (code %i)', async (row, code) => {
    const err = await chdbError(row);
    expect(clickHouseErrorCode(err)).toBe(code);
    expect(insertErrorKind(err)).toBe('data');
    const reason = engineReason(err);
    expect(reason).toMatch(new RegExp(`^Code: ${code}\\. DB::Exception: `));
    expect(reason).not.toContain('\n');
  });

  it('an unknown table is not a data error: retrying is right, splitting would dead-letter good rows', async () => {
    let err: unknown;
    try {
      await store.insert({
        table: 'no_such_table',
        body: Buffer.from('[1]\n'),
        format: 'JSONCompactEachRow',
      });
    } catch (e) {
      err = e;
    }
    expect(clickHouseErrorCode(err)).toBe(60);
    expect(insertErrorKind(err)).toBe('outage');
  });
});

describe('server backend errors', () => {
  const server = (code: number | undefined, message: string) =>
    new ClickHouseServerError(
      `ClickHouse at http://h:8123 failed (HTTP 500, code ${code}): ${message}`,
      code,
      500,
      message,
    );

  it('classifies by the code the error carries', () => {
    expect(insertErrorKind(server(27, 'Cannot parse input'))).toBe('data');
    expect(insertErrorKind(server(321, 'Value is out of range'))).toBe('data');
    expect(insertErrorKind(server(241, 'Memory limit (total) exceeded'))).toBe('outage');
    expect(insertErrorKind(server(159, 'Timeout exceeded'))).toBe('outage');
    expect(insertErrorKind(server(undefined, 'bad gateway'))).toBe('outage');
    // @clickhouse/client's ClickHouseError carries the code as a numeric string.
    expect(insertErrorKind(Object.assign(new Error('Cannot parse input'), { code: '27' }))).toBe('data');
    expect(insertErrorKind(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'outage',
    );
  });

  it('outages and configuration problems are never data errors, whatever text they quote', () => {
    expect(insertErrorKind(new StoreUnavailableError('Code: 27. DB::Exception: quoted'))).toBe('outage');
    expect(insertErrorKind(new StoreConfigError('Code: 27. rejected the credentials'))).toBe('outage');
    expect(insertErrorKind('Code: 27.')).toBe('outage');
  });

  it('too many partitions for one insert block is the rows’ doing, even after the server retried it', () => {
    const text = 'Too many partitions for single INSERT block (more than 100).';
    expect(insertErrorKind(server(252, text))).toBe('data');
    expect(
      insertErrorKind(
        new StoreUnavailableError(`insert failed after 5 attempts (last error: code 252: ${text})`),
      ),
    ).toBe('data');
    expect(
      insertErrorKind(server(252, 'Too many parts (300). Merges are processing significantly slower')),
    ).toBe('outage');
  });
});

describe('after close', () => {
  it('a closed store is an outage', async () => {
    // Last in the file: chDB allows one data directory per process, so it is this file's store that closes.
    await store.close();
    let err: unknown;
    try {
      await store.insert({ table: 't', body: Buffer.from('[0,1,"x"]\n'), format: 'JSONCompactEachRow' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(insertErrorKind(err)).toBe('outage');
  });
});
