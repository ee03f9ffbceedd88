#!/usr/bin/env node
/**
 * The `egresslens` command's entry point: sizes libuv's thread pool, then loads the CLI (bin/egresslens.ts).
 *
 * libuv creates its pool once, at its first use, with UV_THREADPOOL_SIZE threads (4 when unset). Node 20
 * reads an ES module entry with an asynchronous readFile, which is that first use, so setting the variable
 * at the top of egresslens.js comes too late (measured: 6 blocked reads still stopped a 7th). This file is
 * CommonJS, read synchronously, and runs before any module is loaded.
 *
 * Why 16: every chDB query and insert holds a pool thread until the engine returns. Under the default limits
 * that is 2 query/report slots (limits.maxConcurrentQueries) + 2 inserts (the HTTP and Kafka pipelines keep
 * one each in flight) + 1 store check for /readyz + about 4 for file, zlib and DNS work = 9; 16 leaves room
 * to raise maxConcurrentQueries to 9. An idle thread costs a sleeping thread's stack, not CPU. A value the
 * user sets wins.
 */
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
void import('./egresslens.js');
