/** `egresslens parse`: access-log lines in, one JSON object per line out, in input order. */

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { lineChunks, maybeGunzip } from '../../ingest/file/line-chunks.js';
import { compile, isParseFailure } from '../../parser/index.js';
import { UserError } from '../usage-error.js';

export const parseUsage = `usage: egresslens parse [--format auto|json|<preset>|'<Envoy format string>'] [FILE|-]

Writes one JSON object per input line to stdout: the parsed record, or
{"error": ..., "line": N, "offset": ..., "raw": ...} for a line that did not parse.
FILE may be gzip-compressed. Without FILE (or with -) it reads stdin.`;

export async function runParse(args: { format?: string; file?: string }): Promise<number> {
  let parser: ReturnType<typeof compile>;
  try {
    parser = compile(args.format ?? 'auto');
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  // `parse FILE | head -2`: a reader that has seen enough closes the pipe; that ends the command, quietly.
  const closed = new Promise<'closed'>((resolve) => {
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') resolve('closed');
      else throw err;
    });
  });
  const input = !args.file || args.file === '-' ? process.stdin : createReadStream(args.file);
  const out = process.stdout;
  let lineNo = 0;
  let failures = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (out.destroyed) stopped = true;
    if (pending.length === 0 || stopped) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    if (!out.write(text) && (await Promise.race([once(out, 'drain'), closed])) === 'closed') {
      stopped = true;
    }
  };
  let stopped = false;
  for await (const { buf, truncated } of lineChunks(maybeGunzip(input))) {
    let start = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      if (nl < 0) nl = buf.length;
      lineNo++;
      let end = nl;
      if (end > start && buf[end - 1] === 13) end--;
      const result = truncated
        ? {
            error: `line longer than ${buf.length} bytes, cut`,
            offset: buf.length,
            raw: buf.toString('utf8', start, end),
          }
        : parser.parse(buf.subarray(start, end));
      let json: string;
      if (truncated || isParseFailure(result as never)) {
        failures++;
        const f = result as { error: string; offset: number; raw: string };
        json = JSON.stringify({ error: f.error, line: lineNo, offset: f.offset, raw: f.raw });
      } else {
        json = JSON.stringify(result);
      }
      pending.push(json, '\n');
      pendingBytes += json.length + 1;
      if (pendingBytes >= 1 << 16) await flush();
      if (stopped) break;
      start = nl + 1;
    }
    if (stopped) break;
  }
  await flush();
  if (stopped || out.destroyed || out.writableEnded) return 0;
  // The last write may have been refused after the loop: wait until it is out, or the reader gone.
  if (out.writableNeedDrain && (await Promise.race([once(out, 'drain'), closed])) === 'closed') return 0;
  process.stderr.write(`parsed ${lineNo - failures} of ${lineNo} lines, ${failures} failed\n`);
  return 0;
}
