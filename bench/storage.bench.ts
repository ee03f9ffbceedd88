/**
 * Storage benchmark: bytes on disk per row of access_log once merged, for the sizing guide. Three data sets:
 * - baseline: bench/report-data.ts (a few hundred destinations, rows 250 ms apart);
 * - high: bench/high-cardinality-data.ts (tens of thousands of destinations, all inside 23 h);
 * - lines: generated Istio text lines (bench/generate-lines.ts) through the real pipeline, `egresslens ingest
 *   FILE` in a child process, because the two loaders above fill columns from SQL and may compress
 *   differently from what intake writes (request ids, addresses, user agents, k8s columns). Every line has a
 *   fresh random pod address and external address: the worst case for compression;
 * - lines-pooled: the same lines with pod addresses drawn from 5,000 and external addresses from 2,000, as a
 *   mesh repeats them (request ids and ephemeral ports stay random, as they are).
 * Each set, at each row count, goes into an empty embedded store and is merged (`OPTIMIZE TABLE … FINAL`), then
 * system.parts (active parts) gives bytes on disk, compressed and uncompressed bytes, and system.columns the
 * columns that take the most. dead_letters is counted too (the generated lines all parse, so it should be
 * empty; a row there costs its raw line, ZSTD-compressed).
 *
 *   npm run bench:storage -- [--rows 1000000,3000000] [--sets baseline,high,lines,lines-pooled] [--columns 8]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChdbStore } from '../store/chdb-store.js';
import { loadHighCardinalityData } from './high-cardinality-data.js';
import { loadReportData } from './report-data.js';
import { runCli } from './run-child.js';
import { writeLogFile } from './write-log-file.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.BENCH_ROWS ?? '1000000,3000000' },
    sets: { type: 'string', default: 'baseline,high,lines,lines-pooled' },
    columns: { type: 'string', default: '8' },
  },
});
const ROW_COUNTS = args.rows.split(',').map(Number);
const SETS = args.sets.split(',');
const TOP_COLUMNS = Number(args.columns);
for (const set of SETS) {
  if (!['baseline', 'high', 'lines', 'lines-pooled'].includes(set)) throw new Error(`unknown set ${set}`);
}

interface Usage {
  rows: number;
  parts: number;
  onDisk: number;
  compressed: number;
  uncompressed: number;
}

interface ColumnUsage {
  name: string;
  type: string;
  compressed: number;
  uncompressed: number;
}

const MB = 1e6;

async function tableUsage(store: ChdbStore, table: string): Promise<Usage> {
  const r = (
    await store.query<Record<string, string | number>>(
      `SELECT sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS on_disk,
              sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed
       FROM system.parts WHERE database = currentDatabase() AND table = '${table}' AND active`,
    )
  )[0]!;
  return {
    rows: Number(r.rows),
    parts: Number(r.parts),
    onDisk: Number(r.on_disk),
    compressed: Number(r.compressed),
    uncompressed: Number(r.uncompressed),
  };
}

async function columnUsage(store: ChdbStore): Promise<ColumnUsage[]> {
  const rows = await store.query<Record<string, string | number>>(
    `SELECT name, type, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed
     FROM system.columns WHERE database = currentDatabase() AND table = 'access_log'
     ORDER BY data_compressed_bytes DESC`,
  );
  return rows.map((r) => ({
    name: String(r.name),
    type: String(r.type),
    compressed: Number(r.compressed),
    uncompressed: Number(r.uncompressed),
  }));
}

/** Every file under `dir`: what the store takes on disk, metadata and other tables included. */
function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += dirBytes(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

const POOLS = { pods: 5_000, destinations: 2_000 };

async function fill(set: string, rows: number, dir: string, work: string): Promise<ChdbStore> {
  if (set === 'lines' || set === 'lines-pooled') {
    const file = join(work, 'lines.log');
    const bytes = await writeLogFile(file, rows, {
      seed: 7,
      pools: set === 'lines-pooled' ? POOLS : undefined,
    });
    const t0 = performance.now();
    const run = await runCli(['ingest', '--data', dir, file]);
    rmSync(file, { force: true });
    if (run.code !== 0) throw new Error(`ingest failed: ${run.stderr}`);
    console.log(
      `  ingested ${(bytes / MB).toFixed(0)} MB of text lines (${((bytes / rows) | 0).toString()} bytes/line) with egresslens ingest in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    return ChdbStore.open(dir);
  }
  const store = ChdbStore.open(dir);
  await store.migrate();
  await (set === 'baseline' ? loadReportData : loadHighCardinalityData)(store, rows, Date.now());
  return store;
}

async function measure(set: string, rows: number): Promise<Usage> {
  const work = mkdtempSync(join(tmpdir(), 'egresslens-bench-storage-'));
  const dir = join(work, 'store');
  try {
    const store = await fill(set, rows, dir, work);
    const before = await tableUsage(store, 'access_log');
    const t0 = performance.now();
    await store.command('OPTIMIZE TABLE access_log FINAL');
    await store.command('OPTIMIZE TABLE dead_letters FINAL');
    const mergeSeconds = (performance.now() - t0) / 1000;
    const u = await tableUsage(store, 'access_log');
    const dead = await tableUsage(store, 'dead_letters');
    const cols = await columnUsage(store);
    const replaced = Number(
      (
        await store.query<{ b: number }>(
          `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE database = currentDatabase() AND NOT active`,
        )
      )[0]?.b,
    );
    await store.close();
    if (u.rows !== rows) throw new Error(`${set}: access_log holds ${u.rows} rows, expected ${rows}`);
    const perRow = (b: number) => (b / u.rows).toFixed(1);
    console.log(
      `  access_log: ${u.rows.toLocaleString('en')} rows in ${u.parts} part(s) after OPTIMIZE FINAL (${mergeSeconds.toFixed(1)} s): ` +
        `${perRow(u.onDisk)} bytes/row on disk = ${(u.onDisk / u.rows).toFixed(1)} MB per million rows ` +
        `(compressed ${perRow(u.compressed)}, uncompressed ${perRow(u.uncompressed)} bytes/row, ratio ${(u.uncompressed / u.compressed).toFixed(1)})`,
    );
    console.log(
      `  before the merge: ${before.parts} active part(s), ${(before.onDisk / before.rows).toFixed(1)} bytes/row`,
    );
    console.log(
      `  dead_letters: ${dead.rows} rows, ${dead.onDisk} bytes; the whole store directory: ${(dirBytes(dir) / MB).toFixed(1)} MB, of which ${(replaced / MB).toFixed(1)} MB are parts the merge replaced, deleted after old_parts_lifetime (8 min)`,
    );
    const shown = cols.slice(0, TOP_COLUMNS);
    const rest = cols.slice(TOP_COLUMNS).reduce((n, c) => n + c.compressed, 0);
    console.log(
      `  columns by compressed size (bytes/row, share): ${shown
        .map(
          (c) => `${c.name} ${perRow(c.compressed)} (${((100 * c.compressed) / u.compressed).toFixed(0)} %)`,
        )
        .join(
          ', ',
        )}, ${cols.length - shown.length} others ${perRow(rest)} (${((100 * rest) / u.compressed).toFixed(0)} %)`,
    );
    return u;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // bytes/row = MB per million rows (1e6 rows × bytes/row ÷ 1e6 bytes per MB).
  const summary: string[] = [];
  for (const set of SETS) {
    for (const rows of ROW_COUNTS) {
      console.log(`\n== ${set}, ${rows.toLocaleString('en')} rows`);
      const u = await measure(set, rows);
      summary.push(
        `${set.padEnd(12)} ${rows.toLocaleString('en').padStart(11)} rows  ${(u.onDisk / u.rows).toFixed(1).padStart(6)} bytes/row on disk  ${(u.onDisk / u.rows).toFixed(1).padStart(6)} MB per million rows`,
      );
    }
  }
  console.log('\nbytes on disk of access_log, merged (system.parts, active parts):');
  for (const line of summary) console.log(`  ${line}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
