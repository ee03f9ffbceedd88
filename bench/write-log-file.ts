/** Writes N generated Istio lines to a file, streaming, so multi-GB inputs cost no memory. */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type GenerateOptions, LineGenerator } from './generate-lines.js';

/** `opts` is the generator's seed, or its options; the bytes written. */
export async function writeLogFile(
  path: string,
  lines: number,
  opts: number | GenerateOptions = 7,
): Promise<number> {
  const out = createWriteStream(path);
  const gen = new LineGenerator(typeof opts === 'number' ? { seed: opts } : opts);
  let bytes = 0;
  let parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    parts.push(gen.next().line);
    if (parts.length === 10_000 || i === lines - 1) {
      const text = `${parts.join('\n')}\n`;
      bytes += Buffer.byteLength(text);
      parts = [];
      if (!out.write(text)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
