/**
 * Request bodies as Fluent Bit's `http` output sends them, for the HTTP intake benchmark: records of `tail`
 * (docker parser) plus the kubernetes filter, `records` to a body, in one of the formats the README
 * recommends or accepts. Pods rotate per body, as chunks of many pods would arrive.
 */
import { gzipSync } from 'node:zlib';
import { ExtData, encode } from '@msgpack/msgpack';
import { KUBERNETES } from './fluent-records.js';

export type HttpBodyFormat = 'json_lines' | 'json_lines_gzip' | 'msgpack' | 'msgpack_gzip';

export interface HttpBody {
  body: Buffer;
  headers: Record<string, string>;
  records: number;
}

const PODS = 20;

/** The pod whose lines body `n` carries: pods rotate per body. */
export function podOfBody(n: number): { namespace: string; pod: string; container: string } {
  return {
    namespace: KUBERNETES.namespace_name,
    pod: `checkout-7f9c8d6b5-p${n % PODS}`,
    container: KUBERNETES.container_name,
  };
}

/** Fluent Bit's EventTime (msgpack extension 0): big-endian uint32 seconds, uint32 nanoseconds. */
function eventTime(seconds: number): ExtData {
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  const s = Math.floor(seconds);
  view.setUint32(0, s >>> 0);
  view.setUint32(4, Math.round((seconds - s) * 1e9) >>> 0);
  return new ExtData(0, data);
}

export function fluentHttpBodies(lines: string[], format: HttpBodyFormat, records: number): HttpBody[] {
  const bodies: HttpBody[] = [];
  const t0 = Date.now() / 1000;
  for (let i = 0, n = 0; i < lines.length; i += records, n++) {
    const kubernetes = { ...KUBERNETES, pod_name: podOfBody(n).pod };
    const chunk = lines.slice(i, i + records);
    const record = (log: string, k: number) => ({
      log: `${log}\n`,
      stream: 'stdout',
      time: new Date((t0 + (i + k) / 1000) * 1000).toISOString(),
      kubernetes,
    });
    let body: Buffer;
    let type: string;
    if (format === 'msgpack' || format === 'msgpack_gzip') {
      // Fluent Bit 2.1+ events: [[EventTime, metadata], record], back to back.
      body = Buffer.concat(
        chunk.map((log, k) => encode([[eventTime(t0 + (i + k) / 1000), {}], record(log, k)])),
      );
      type = 'application/msgpack';
    } else {
      // json_date_key (default `date`, a double) comes first in each record.
      body = Buffer.from(
        chunk
          .map((log, k) => `${JSON.stringify({ date: t0 + (i + k) / 1000, ...record(log, k) })}\n`)
          .join(''),
      );
      type = 'application/x-ndjson';
    }
    const headers: Record<string, string> = { 'content-type': type };
    if (format === 'json_lines_gzip' || format === 'msgpack_gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    bodies.push({ body, headers, records: chunk.length });
  }
  return bodies;
}
