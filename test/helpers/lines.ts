/** Test inputs: generated Istio lines with a known mix, joined into one buffer. */
import { type GeneratedLine, LineGenerator } from '../../bench/generate-lines.js';

export function generatedLines(n: number, seed = 1): GeneratedLine[] {
  const gen = new LineGenerator({ seed });
  return Array.from({ length: n }, () => gen.next());
}

export function joinLines(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\n')}\n`);
}

export async function count(
  store: { query<T>(sql: string): Promise<T[]> },
  table: string,
  where = '1',
): Promise<number> {
  const rows = await store.query<{ n: string | number }>(`SELECT count() AS n FROM ${table} WHERE ${where}`);
  return Number(rows[0]?.n ?? 0);
}
