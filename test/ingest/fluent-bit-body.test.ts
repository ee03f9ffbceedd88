import { gzipSync } from 'node:zlib';
import { ExtData, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodedEntry } from '../../ingest/decoded-entry.js';
import {
  BodyError,
  type BodyFormat,
  type BodyLimits,
  decodeBody,
  formatFromContentType,
  metaFromKubernetes,
  workloadFromPodName,
} from '../../ingest/http/fluent-bit-body.js';
import { entryFromRecord } from '../../ingest/record-entry.js';
import { compile, isParseFailure, recordFromObject } from '../../parser/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

const LIMITS: BodyLimits = { maxDecodedBytes: 64 << 20, maxRecords: 100_000, maxKeysPerRecord: 1_000 };

const ISTIO_LINE =
  '[2026-11-01T00:00:00.003Z] "GET /delay/5 HTTP/1.1" 504 UT response_timeout - "-" 0 24 3006 - ' +
  '"203.0.10.86, 10.1.197.189" "okhttp/4.12.0" "f774b6cc-d4bb-dd8a-463c-7e1fb99f2d6b" "api.twilio.com" ' +
  '"83.7.254.47:80" outbound|80||api.twilio.com 10.244.169.214:41271 83.7.254.47:80 10.244.169.214:57321 - default';

const ENVOY_JSON = {
  start_time: '2026-11-01T00:00:00.002Z',
  method: 'GET',
  path: '/v1/charges',
  protocol: 'HTTP/1.1',
  response_code: 502,
  response_flags: 'UF,URX',
  bytes_received: 0,
  bytes_sent: 91,
  duration: 12,
  upstream_cluster: 'outbound|443||api.stripe.com',
  upstream_host: '54.187.174.169:443',
  authority: 'api.stripe.com',
};

/** What Fluent Bit's `envoy` regex parser emits for a default-format Envoy line (all values strings). */
const ENVOY_PARSER_KEYS = {
  start_time: '2026-11-01T00:00:01.250Z',
  method: 'POST',
  path: '/v2/messages',
  protocol: 'HTTP/1.1',
  code: '503',
  response_flags: 'UO',
  bytes_received: '120',
  bytes_sent: '81',
  duration: '0',
  x_envoy_upstream_service_time: '-',
  x_forwarded_for: '-',
  user_agent: 'curl/8.5.0',
  request_id: '0b0d2f0e-0bb0-4e0a-9d1c-5f3b3f1a7d11',
  authority: 'api.sendgrid.com',
  upstream_host: '-',
};

const KUBE = {
  pod_name: 'checkout-7f9c8d6b5-x2k9q',
  namespace_name: 'shop',
  pod_id: '3f1c0d8e-9a2b-4c6d-8e0f-1a2b3c4d5e6f',
  labels: { app: 'checkout', 'pod-template-hash': '7f9c8d6b5', 'security.istio.io/tlsMode': 'istio' },
  annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' },
  host: 'node-a',
  container_name: 'istio-proxy',
  docker_id: 'abc123',
  container_image: 'docker.io/istio/proxyv2:1.22.0',
};

const META = {
  namespace: 'shop',
  pod: 'checkout-7f9c8d6b5-x2k9q',
  container: 'istio-proxy',
  workload: 'checkout',
  node: 'node-a',
};

/** A record as the http output's json formats write it: the date key first, then tail + docker + kubernetes keys. */
function tailRecord(line: string, date: unknown = 1793491200.123456): Record<string, unknown> {
  return {
    date,
    log: `${line}\n`,
    stream: 'stdout',
    time: '2026-11-01T00:00:00.003456789Z',
    kubernetes: KUBE,
  };
}

/** Fluent Bit's EventTime extension (type 0): big-endian uint32 seconds and nanoseconds. */
function eventTime(seconds: number, nanoseconds: number): ExtData {
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  view.setUint32(0, seconds >>> 0);
  view.setUint32(4, nanoseconds);
  return new ExtData(0, data);
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const jsonLines = (records: unknown[], sep = '\n') =>
  Buffer.from(records.map((r) => JSON.stringify(r)).join(sep) + sep);
const jsonStream = (records: unknown[]) => Buffer.from(records.map((r) => JSON.stringify(r)).join(''));
const msgpack = (events: unknown[]) => Buffer.concat(events.map((e) => encode(e)));

function decode(
  body: Buffer,
  contentType: string,
  extra: { contentEncoding?: string; format?: BodyFormat; limits?: Partial<BodyLimits> } = {},
): DecodedEntry[] {
  return decodeBody(body, {
    contentType,
    contentEncoding: extra.contentEncoding,
    format: extra.format,
    limits: { ...LIMITS, ...extra.limits },
  }).map(asText);
}

/**
 * Records read without JSON.parse carry their line as bytes: shown as text here, so every expectation holds
 * for both paths (the differential tests below compare the two directly).
 */
function asText(e: DecodedEntry): DecodedEntry {
  if (!e.bytes) return e;
  const { bytes, start, end, ...rest } = e;
  return { ...rest, line: bytes.toString('utf8', start ?? 0, end ?? bytes.length) };
}

/** The BodyError a call throws (fails the test when it throws something else or nothing). */
function bodyError(fn: () => unknown): BodyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BodyError);
    return err as BodyError;
  }
  throw new Error('expected a BodyError, nothing was thrown');
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

const parser = compile('auto');

/** What the ingest pipeline would do with an entry: the parser for lines, recordFromObject for objects. */
function parseEntry(e: DecodedEntry) {
  if (e.line !== undefined) return parser.parse(e.line);
  return recordFromObject(e.object!, JSON.stringify(e.object));
}

// ---------------------------------------------------------------------------------------------------------------

describe('formatFromContentType', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['Application/JSON ; charset=UTF-8', 'json'],
    ['application/x-ndjson', 'json_lines'],
    ['application/jsonlines', 'json_lines'],
    ['application/json-lines', 'json_lines'],
    ['application/msgpack', 'msgpack'],
    ['application/x-msgpack', 'msgpack'],
    ['text/plain', 'lines'],
    ['text/plain;charset=utf-8', 'lines'],
  ])('%s → %s', (type, format) => {
    expect(formatFromContentType(type)).toBe(format);
  });

  it('refuses other and missing types with 415 naming the accepted ones', () => {
    for (const type of [
      'application/xml',
      'application/x-www-form-urlencoded',
      'text/csv',
      'application/gelf',
    ]) {
      const err = bodyError(() => formatFromContentType(type));
      expect(err.status).toBe(415);
      expect(err.message).toContain('application/x-ndjson');
      expect(err.message).toContain('application/msgpack');
      expect(err.message).toContain('text/plain');
    }
    expect(bodyError(() => formatFromContentType(undefined)).message).toMatch(/missing Content-Type/);
    expect(bodyError(() => formatFromContentType('')).status).toBe(415);
  });

  it('an override wins over the type, and must be a known format', () => {
    expect(formatFromContentType('application/json', 'msgpack')).toBe('msgpack');
    expect(formatFromContentType(undefined, 'lines')).toBe('lines');
    const err = bodyError(() => formatFromContentType('application/json', 'gelf'));
    expect(err.status).toBe(415);
    expect(err.message).toContain('json_stream');
  });
});

describe('JSON formats', () => {
  const records = [tailRecord(ISTIO_LINE), tailRecord(JSON.stringify(ENVOY_JSON), 1793491201.5)];

  it('json: an array of records; line from `log` without its newline, meta from kubernetes, time from date', () => {
    const entries = decode(json(records), 'application/json');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toEqual({ line: ISTIO_LINE, meta: META, timeMs: 1793491200123 });
    expect(entries[1]).toEqual({ line: JSON.stringify(ENVOY_JSON), meta: META, timeMs: 1793491201500 });
    for (const e of entries) expect(isParseFailure(parseEntry(e))).toBe(false);
  });

  it('json_lines: one record per line; CRLF, blank lines and a missing final newline are fine', () => {
    expect(decode(jsonLines(records), 'application/x-ndjson')).toEqual(
      decode(json(records), 'application/json'),
    );
    const messy = Buffer.from(`\r\n${JSON.stringify(records[0])}\r\n\r\n${JSON.stringify(records[1])}`);
    expect(decode(messy, 'application/x-ndjson').map((e) => e.line)).toEqual([
      ISTIO_LINE,
      JSON.stringify(ENVOY_JSON),
    ]);
  });

  it('json_stream: objects back to back with no separator, sent as application/json', () => {
    const body = jsonStream(records);
    expect(body.includes('}{')).toBe(true);
    expect(decode(body, 'application/json')).toEqual(decode(json(records), 'application/json'));
    expect(decode(body, 'application/json', { format: 'json_stream' })).toHaveLength(2);
    // Newline separated, and a single object, are streams too.
    expect(decode(jsonLines(records), 'application/json')).toHaveLength(2);
    expect(decode(json(records[0]), 'application/json')).toHaveLength(1);
  });

  it('strings containing braces, brackets and escaped quotes do not confuse the record boundaries', () => {
    const tricky = [
      { date: 1, log: 'a}{"b":[1,2]}\\', kubernetes: KUBE },
      { date: 2, log: '\\"}{\\\\', extra: { nested: ['}', '{', '"]'] } },
    ];
    for (const body of [json(tricky), jsonStream(tricky), jsonLines(tricky)]) {
      expect(decode(body, 'application/json').map((e) => e.line)).toEqual(['a}{"b":[1,2]}\\', '\\"}{\\\\']);
    }
  });

  it('an empty array, empty body or blank body is no records', () => {
    expect(decode(Buffer.from('[]'), 'application/json')).toEqual([]);
    expect(decode(Buffer.from(' [ ] \n'), 'application/json')).toEqual([]);
    expect(decode(Buffer.alloc(0), 'application/json')).toEqual([]);
    expect(decode(Buffer.from('\n\n'), 'application/x-ndjson')).toEqual([]);
  });

  it('a UTF-8 BOM is skipped', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(records)]);
    expect(decode(body, 'application/json')).toHaveLength(2);
  });

  it.each([
    ['double (default)', 1793491200.123456, 1793491200123],
    ['epoch', 1793491200, 1793491200000],
    ['epoch_ms', 1793491200123, 1793491200123],
    ['iso8601', '2026-11-01T00:00:00.123456Z', 1793491200123],
    ['iso8601_ns (kafka)', '2026-11-01T00:00:00.123456789Z', 1793491200123],
    ['java_sql_timestamp', '2026-11-01 00:00:00.123456', 1793491200123],
  ])('json_date_format %s', (_name, date, ms) => {
    const [entry] = decode(json([tailRecord(ISTIO_LINE, date)]), 'application/json');
    expect(entry!.timeMs).toBe(ms);
  });

  it('a renamed date key is recognised by being first and time-like; without one, `time` is used', () => {
    const renamed = { ts: '2026-11-01T00:00:00.5Z', log: ISTIO_LINE };
    expect(decode(json([renamed]), 'application/json')[0]!.timeMs).toBe(1793491200500);
    // kafka output: `@timestamp` first.
    const kafka = { '@timestamp': 1793491200.25, log: ISTIO_LINE };
    expect(decode(json(kafka), 'application/json')[0]!.timeMs).toBe(1793491200250);
    // json_date_key false: the docker `time` key is the best time there is.
    const noDate = { log: ISTIO_LINE, stream: 'stdout', time: '2026-11-01T00:00:00.003456789Z' };
    expect(decode(json(noDate), 'application/json')[0]!.timeMs).toBe(1793491200003);
    // Nothing time-like: no timeMs. A first key that is a number but not a plausible epoch is not a date.
    const none = { count: 12, log: ISTIO_LINE };
    expect(decode(json(none), 'application/json')[0]).toEqual({ line: ISTIO_LINE, meta: emptyMeta() });
  });

  it('legacy cri parser: the line is in `message`', () => {
    const rec = {
      date: 1793491200,
      time: '2026-11-01T00:00:00.1Z',
      stream: 'stdout',
      logtag: 'F',
      message: `${ISTIO_LINE}\r\n`,
    };
    expect(decode(json([rec]), 'application/json')[0]!.line).toBe(ISTIO_LINE);
  });
});

describe('records Fluent Bit already parsed', () => {
  it('envoy regex parser output becomes an object without the date and kubernetes keys', () => {
    const rec = {
      date: 1793491201.25,
      ...ENVOY_PARSER_KEYS,
      kubernetes: KUBE,
      kubernetes_namespace: { labels: {} },
    };
    const [entry] = decode(json([rec]), 'application/json');
    expect(entry).toEqual({ object: ENVOY_PARSER_KEYS, meta: META, timeMs: 1793491201250 });
    const parsed = parseEntry(entry!);
    if (isParseFailure(parsed)) throw new Error(parsed.error);
    expect(parsed.response_code).toBe(503);
    expect(parsed.response_flags_list).toEqual(['UO']);
    expect(parsed.authority).toBe('api.sendgrid.com');
    expect(parsed.extra).toBeNull();
  });

  it('istio-envoy-proxy regex parser output (response_code, upstream_cluster) is an object too', () => {
    const keys = {
      start_time: '2026-11-01T00:00:00.003Z',
      method: 'GET',
      path: '/delay/5',
      protocol: 'HTTP/1.1',
      response_code: '504',
      response_flags: 'UT',
      response_code_details: 'response_timeout',
      upstream_cluster: 'outbound|80||api.twilio.com',
      authority: 'api.twilio.com',
    };
    const [entry] = decode(jsonLines([{ date: 1793491200, ...keys }]), 'application/x-ndjson');
    expect(entry!.object).toEqual(keys);
    expect(isParseFailure(parseEntry(entry!))).toBe(false);
  });

  it('merge_log with keep_log Off: the Envoy JSON keys are at top level', () => {
    const rec = {
      date: 1793491200,
      stream: 'stdout',
      time: '2026-11-01T00:00:00Z',
      ...ENVOY_JSON,
      kubernetes: KUBE,
    };
    const [entry] = decode(json([rec]), 'application/json');
    expect(entry!.object).toEqual({ stream: 'stdout', time: '2026-11-01T00:00:00Z', ...ENVOY_JSON });
    expect(entry!.meta).toEqual(META);
    const parsed = parseEntry(entry!);
    if (isParseFailure(parsed)) throw new Error(parsed.error);
    expect(parsed.upstream_cluster).toBe('outbound|443||api.stripe.com');
  });

  it('merge_log under a merge key (log_processed, or any other key) when there is no raw line', () => {
    const underDefault = { date: 1, stream: 'stdout', log_processed: ENVOY_JSON, kubernetes: KUBE };
    const underCustom = { date: 1, stream: 'stdout', envoy: ENVOY_JSON, kubernetes: KUBE };
    for (const rec of [underDefault, underCustom]) {
      const [entry] = decode(json([rec]), 'application/json');
      expect(entry).toEqual({ object: ENVOY_JSON, meta: META, timeMs: 1000 });
    }
  });

  it('keep_log On: the raw line wins over the merged object', () => {
    const rec = { date: 1, log: `${JSON.stringify(ENVOY_JSON)}\n`, log_processed: ENVOY_JSON };
    expect(decode(json([rec]), 'application/json')[0]!.line).toBe(JSON.stringify(ENVOY_JSON));
  });

  it('a record with no line and no access-log object is kept whole as a line, which the parser refuses', () => {
    const rec = { date: 1793491200, level: 'info', msg: 'listener added', kubernetes: KUBE };
    const [entry] = decode(json([rec]), 'application/json');
    expect(entry!.line).toBe(JSON.stringify(rec));
    expect(entry!.meta).toEqual(META);
    expect(isParseFailure(parseEntry(entry!))).toBe(true);
    // start_time alone is not enough evidence.
    const almost = { date: 1, start_time: '2026-11-01T00:00:00Z', foo: 1 };
    expect(decode(json(almost), 'application/json')[0]!.line).toBe(JSON.stringify(almost));
  });

  it('non-object records are kept as lines too', () => {
    const entries = decode(
      Buffer.from(`[${JSON.stringify(`${ISTIO_LINE}\n`)}, 42, null]`),
      'application/json',
    );
    expect(entries.map((e) => e.line)).toEqual([ISTIO_LINE, '42', 'null']);
  });

  it('a JSON `__proto__` key stays a plain key', () => {
    const body = Buffer.from(
      `[{"date":1,${JSON.stringify(ENVOY_JSON).slice(1, -1)},"__proto__":{"polluted":true}}]`,
    );
    const [entry] = decode(body, 'application/json');
    expect(Object.getPrototypeOf(entry!.object)).toBe(Object.prototype);
    expect(Object.hasOwn(entry!.object!, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('msgpack', () => {
  const record = { log: `${ISTIO_LINE}\n`, stream: 'stdout', kubernetes: KUBE };

  it('legacy [timestamp, record] events with integer and float timestamps', () => {
    const body = msgpack([
      [1793491200, record],
      [1793491200.75, record],
    ]);
    expect(decode(body, 'application/msgpack')).toEqual([
      { line: ISTIO_LINE, meta: META, timeMs: 1793491200000 },
      { line: ISTIO_LINE, meta: META, timeMs: 1793491200750 },
    ]);
  });

  it('v2 [[EventTime, metadata], record] events; legacy EventTime; group markers skipped', () => {
    const body = msgpack([
      [[eventTime(-1, 0), { otlp: {} }], { resource: {} }], // group start
      [[eventTime(1793491200, 123_456_789), {}], record],
      [eventTime(1793491201, 999_999_999), { ...ENVOY_PARSER_KEYS }],
      [[eventTime(-2, 0), {}], {}], // group end
      [[eventTime(0xf0000000, 0), {}], record], // after 2038: seconds are unsigned
    ]);
    const entries = decode(body, 'application/x-msgpack');
    expect(entries).toEqual([
      { line: ISTIO_LINE, meta: META, timeMs: 1793491200123 },
      { object: ENVOY_PARSER_KEYS, meta: emptyMeta(), timeMs: 1793491201999 },
      { line: ISTIO_LINE, meta: META, timeMs: 0xf0000000 * 1000 },
    ]);
  });

  it('a bare record map (kafka output format msgpack) takes its time from the record', () => {
    const body = msgpack([{ '@timestamp': 1793491200.5, ...ENVOY_JSON }]);
    expect(decode(body, 'application/msgpack')).toEqual([
      { object: ENVOY_JSON, meta: emptyMeta(), timeMs: 1793491200500 },
    ]);
  });

  it('binary keys and binary string values are decoded as UTF-8', () => {
    const bin = (s: string) => {
      const b = Buffer.from(s);
      return Buffer.concat([Buffer.from([0xc4, b.length]), b]);
    };
    const bin16 = (s: string) => {
      const b = Buffer.from(s);
      const head = Buffer.from([0xc5, 0, 0]);
      head.writeUInt16BE(b.length, 1);
      return Buffer.concat([head, b]);
    };
    // [uint32 0x6ae6d100, {bin "log": bin16 line, bin "kubernetes": {bin "pod_name": bin "db-0"}}]
    const body = Buffer.concat([
      Buffer.from([0x92, 0xce]),
      Buffer.from([0x6a, 0xe6, 0xd1, 0x00]),
      Buffer.from([0x82]),
      bin('log'),
      bin16(`${ISTIO_LINE}\n`),
      bin('kubernetes'),
      Buffer.from([0x81]),
      bin('pod_name'),
      bin('db-0'),
    ]);
    const [entry] = decode(body, 'application/msgpack');
    expect(entry!.line).toBe(ISTIO_LINE);
    expect(entry!.meta).toEqual({ ...emptyMeta(), pod: 'db-0', workload: 'db' });
    expect(entry!.timeMs).toBe(0x6ae6d100 * 1000);
  });

  it('a binary `__proto__` key is refused instead of replacing the map prototype', () => {
    const key = Buffer.from('__proto__');
    const body = Buffer.concat([
      Buffer.from([0x92, 0x01, 0x81, 0xc4, key.length]),
      key,
      Buffer.from([0x81, 0xa1, 0x78, 0xc3]), // {x: true}
    ]);
    const err = bodyError(() => decode(body, 'application/msgpack'));
    expect(err.status).toBe(400);
    expect(err.message).toContain('__proto__');
  });

  it('invalid msgpack → 400 with the reason', () => {
    const good = msgpack([[1, record]]);
    const cases = [
      Buffer.from([0xc1]), // never-used type byte
      good.subarray(0, good.length - 5), // truncated
      Buffer.concat([good, Buffer.from([0x92, 0x01])]), // truncated second event
      msgpack(['just a string']),
      msgpack([[1, 2, 3]]),
      msgpack([['tag', record]]),
      Buffer.from([0x92, 0xd7, 0x00, 1, 2, 3]), // EventTime cut short
      Buffer.from([0x92, 0xd6, 0x00, 1, 2, 3, 4]), // EventTime of 4 bytes
    ];
    for (const body of cases) {
      const err = bodyError(() => decode(body, 'application/msgpack'));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/msgpack|event/);
    }
  });
});

describe('lines', () => {
  it('one entry per non-empty line, \\r dropped, meta empty', () => {
    const body = Buffer.from(`${ISTIO_LINE}\r\n\n\r\n${JSON.stringify(ENVOY_JSON)}\n${ISTIO_LINE}`);
    const entries = decode(body, 'text/plain; charset=utf-8');
    expect(entries).toEqual([
      { line: ISTIO_LINE, meta: emptyMeta() },
      { line: JSON.stringify(ENVOY_JSON), meta: emptyMeta() },
      { line: ISTIO_LINE, meta: emptyMeta() },
    ]);
  });

  it('more lines than maxRecords → 413', () => {
    const body = Buffer.from(`${ISTIO_LINE}\n`.repeat(11));
    expect(bodyError(() => decode(body, 'text/plain', { limits: { maxRecords: 10 } })).status).toBe(413);
    expect(decode(body, 'text/plain', { limits: { maxRecords: 11 } })).toHaveLength(11);
  });
});

describe('Content-Encoding', () => {
  const records = [tailRecord(ISTIO_LINE), tailRecord(ISTIO_LINE, '2026-11-01T00:00:00Z')];
  const bodies: Array<[string, Buffer]> = [
    ['application/json', json(records)],
    ['application/json', jsonStream(records)],
    ['application/x-ndjson', jsonLines(records)],
    ['application/msgpack', msgpack(records.map((r) => [[eventTime(1793491200, 0), {}], r]))],
    ['text/plain', Buffer.from(`${ISTIO_LINE}\n${ISTIO_LINE}\n`)],
  ];

  it.each(bodies.map(([type, body], i) => [i, type, body] as const))(
    'gzip body #%i (%s) decodes like the plain one',
    (_i, type, body) => {
      const plain = decode(body, type);
      expect(plain).toHaveLength(2);
      expect(decode(gzipSync(body), type, { contentEncoding: 'gzip' })).toEqual(plain);
      expect(decode(gzipSync(body), type, { contentEncoding: 'x-gzip' })).toEqual(plain);
      expect(decode(body, type, { contentEncoding: 'identity' })).toEqual(plain);
      expect(decode(gzipSync(body), type, { contentEncoding: 'GZIP, identity' })).toEqual(plain);
    },
  );

  it('other encodings → 415 naming the accepted ones', () => {
    for (const encoding of ['snappy', 'zstd', 'br', 'deflate', 'gzip, br']) {
      const err = bodyError(() => decode(json([]), 'application/json', { contentEncoding: encoding }));
      expect(err.status).toBe(415);
      expect(err.message).toMatch(/gzip.*identity/);
    }
  });

  it('truncated or corrupt gzip → 400 with zlib’s reason', () => {
    const gz = gzipSync(json(records));
    const truncated = bodyError(() =>
      decode(gz.subarray(0, gz.length - 10), 'application/json', { contentEncoding: 'gzip' }),
    );
    expect(truncated.status).toBe(400);
    expect(truncated.message).toMatch(/unexpected end of file/);
    const notGzip = bodyError(() => decode(json(records), 'application/json', { contentEncoding: 'gzip' }));
    expect(notGzip.status).toBe(400);
    expect(notGzip.message).toMatch(/incorrect header check/);
    const flipped = Buffer.from(gz);
    flipped[20] = flipped[20]! ^ 0xff;
    expect(bodyError(() => decode(flipped, 'application/json', { contentEncoding: 'gzip' })).status).toBe(
      400,
    );
  });

  it('a body decoding to exactly maxDecodedBytes is accepted, one byte more is 413', () => {
    const body = Buffer.from(`${ISTIO_LINE}\n`);
    expect(
      decode(gzipSync(body), 'text/plain', {
        contentEncoding: 'gzip',
        limits: { maxDecodedBytes: body.length },
      }),
    ).toHaveLength(1);
    const err = bodyError(() =>
      decode(gzipSync(body), 'text/plain', {
        contentEncoding: 'gzip',
        limits: { maxDecodedBytes: body.length - 1 },
      }),
    );
    expect(err.status).toBe(413);
    expect(err.message).toBe(
      `decoded body exceeds ${body.length - 1} bytes (limit ingest.maxDecodedBytes): send smaller bodies or raise it`,
    );
    // The cap holds for unencoded bodies too.
    expect(bodyError(() => decode(body, 'text/plain', { limits: { maxDecodedBytes: 10 } })).status).toBe(413);
  });

  it('gzip bomb: 200 MB of zeros → 413 quickly, cap 64 MB', () => {
    const bomb = gzipSync(Buffer.alloc(200 << 20), { level: 1 });
    expect(bomb.length).toBeLessThan(1 << 20);
    const { value: err, ms } = timed(() =>
      bodyError(() =>
        decode(bomb, 'application/json', { contentEncoding: 'gzip', limits: { maxDecodedBytes: 64 << 20 } }),
      ),
    );
    console.info(`gzip bomb (${bomb.length} bytes → 200 MiB) refused in ${ms.toFixed(0)} ms`);
    expect(err.status).toBe(413);
    expect(err.message).toBe(
      `decoded body exceeds ${64 << 20} bytes (limit ingest.maxDecodedBytes): send smaller bodies or raise it`,
    );
    expect(ms).toBeLessThan(1000);
  });
});

describe('limits and bad input', () => {
  it('more than maxRecords records → 413, in every format', () => {
    const rec = tailRecord(ISTIO_LINE);
    const limits = { maxRecords: 3 };
    for (const [type, body] of [
      ['application/json', json([rec, rec, rec, rec])],
      ['application/json', jsonStream([rec, rec, rec, rec])],
      ['application/x-ndjson', jsonLines([rec, rec, rec, rec])],
      [
        'application/msgpack',
        msgpack([
          [1, rec],
          [1, rec],
          [1, rec],
          [1, rec],
        ]),
      ],
    ] as const) {
      const err = bodyError(() => decode(body, type, { limits }));
      expect(err.status).toBe(413);
      expect(err.message).toBe('body has more than 3 records (limit ingest.maxRecords)');
      expect(decode(body, type, { limits: { maxRecords: 4 } })).toHaveLength(4);
    }
  });

  it('a record with more than maxKeysPerRecord keys → 400 naming the record', () => {
    const wide = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]));
    const limits = { maxKeysPerRecord: 10 };
    for (const [type, body] of [
      ['application/json', json([{ log: 'x' }, wide])],
      ['application/x-ndjson', jsonLines([{ log: 'x' }, wide])],
      [
        'application/msgpack',
        msgpack([
          [1, { log: 'x' }],
          [1, wide],
        ]),
      ],
      // Nested keys count.
      ['application/json', json([{ log: 'x' }, { kubernetes: { labels: wide } }])],
      [
        'application/msgpack',
        msgpack([
          [1, { log: 'x' }],
          [1, { kubernetes: { labels: wide } }],
        ]),
      ],
    ] as const) {
      const err = bodyError(() => decode(body, type, { limits }));
      expect(err.status).toBe(400);
      expect(err.message).toBe('record 1 has more than 10 keys (limit ingest.maxKeysPerRecord)');
    }
    expect(decode(json([wide]), 'application/json', { limits: { maxKeysPerRecord: 11 } })).toHaveLength(1);
  });

  it('a JSON object with 1,000,000 keys → 400 fast (JSON and msgpack)', () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`"key${i}":${i}`);
    const body = Buffer.from(`{${parts.join(',')}}`);
    const { value: err, ms } = timed(() => bodyError(() => decode(body, 'application/json')));
    console.info(
      `1M-key JSON object (${(body.length / 2 ** 20).toFixed(1)} MiB) refused in ${ms.toFixed(1)} ms`,
    );
    expect(err.status).toBe(400);
    expect(err.message).toBe('record 0 has more than 1000 keys (limit ingest.maxKeysPerRecord)');
    expect(ms).toBeLessThan(200);

    // Inside an array, and with a limit so large that only the key count can stop it: still 4xx.
    const inArray = Buffer.concat([Buffer.from('['), body, Buffer.from(']')]);
    expect(bodyError(() => decode(inArray, 'application/json')).status).toBe(400);

    // msgpack map32 with 1M entries.
    const mp = Buffer.alloc(5 + 1_000_000 * 10);
    mp[0] = 0xdf;
    mp.writeUInt32BE(1_000_000, 1);
    let at = 5;
    for (let i = 0; i < 1_000_000; i++) {
      const key = `k${String(i).padStart(7, '0')}`; // 8 chars: fixstr
      mp[at++] = 0xa0 | key.length;
      at += mp.write(key, at, 'latin1');
      mp[at++] = 0x00;
    }
    const event = Buffer.concat([Buffer.from([0x92, 0x01]), mp]);
    const mpTimed = timed(() => bodyError(() => decode(event, 'application/msgpack')));
    console.info(`1M-key msgpack map refused in ${mpTimed.ms.toFixed(1)} ms`);
    expect(mpTimed.value.status).toBe(400);
    expect(mpTimed.value.message).toBe('record 0 has more than 1000 keys (limit ingest.maxKeysPerRecord)');
    expect(mpTimed.ms).toBeLessThan(200);
  });

  it('50 MB of valid-looking JSON: size cap, record cap, and decoding within limits', () => {
    const rec = JSON.stringify(tailRecord(ISTIO_LINE));
    const count = Math.ceil((50 << 20) / (rec.length + 1));
    const body = Buffer.from(`[${Array(count).fill(rec).join(',')}]`);
    expect(body.length).toBeGreaterThan(50 << 20);

    const tooBig = timed(() =>
      bodyError(() => decode(body, 'application/json', { limits: { maxDecodedBytes: 32 << 20 } })),
    );
    expect(tooBig.value.status).toBe(413);
    expect(tooBig.value.message).toBe(
      `decoded body exceeds ${32 << 20} bytes (limit ingest.maxDecodedBytes): send smaller bodies or raise it`,
    );

    const gz = gzipSync(body, { level: 1 });
    const tooBigGz = timed(() =>
      bodyError(() =>
        decode(gz, 'application/json', { contentEncoding: 'gzip', limits: { maxDecodedBytes: 32 << 20 } }),
      ),
    );
    expect(tooBigGz.value.status).toBe(413);

    const tooMany = timed(() =>
      bodyError(() => decode(body, 'application/json', { limits: { maxRecords: 10_000 } })),
    );
    expect(tooMany.value.status).toBe(413);
    expect(tooMany.value.message).toBe('body has more than 10000 records (limit ingest.maxRecords)');

    const ok = timed(() => decode(body, 'application/json', { limits: { maxRecords: count } }));
    expect(ok.value).toHaveLength(count);
    expect(ok.value[count - 1]).toEqual({ line: ISTIO_LINE, meta: META, timeMs: 1793491200123 });
    console.info(
      `50 MiB JSON (${count} records): size 413 in ${tooBig.ms.toFixed(1)} ms, gzip size 413 in ${tooBigGz.ms.toFixed(0)} ms, ` +
        `record 413 in ${tooMany.ms.toFixed(0)} ms, full decode in ${ok.ms.toFixed(0)} ms`,
    );
    expect(tooMany.ms).toBeLessThan(ok.ms);
  });

  it('invalid JSON → 400 with the byte offset', () => {
    const cases: Array<[string, RegExp]> = [
      ['[{"date":1,"log":"x"},]', /at byte 22: expected a JSON value, found '\]'/],
      ['[{"date":1,"log":"x"}', /at byte 21: expected ',' or '\]'/],
      ['{"log":"x"} {"log":', /at byte 19: expected a JSON value, found end of body/],
      ['{"log":"x"}, {"log":"y"}', /at byte 11: expected a JSON value, found ','/],
      ['{"log" "x"}', /at byte 7: expected ':'/],
      ['{log:"x"}', /at byte 1: expected a double-quoted property name/],
      ['{"log":"x}', /at byte 7: unterminated string/],
      ['{"log":tru}', /at byte 7: expected a JSON value/],
      ['[{"a":1}] x', /at byte 10: expected end of body/],
      // Errors found by JSON.parse, mapped to body bytes (the é is two bytes).
      ['{"a":"é"}\n{"log":"\\x"}', /at byte 20 \(record 1\): Bad escaped character/],
      ['{"a":"é","b":"\\x"}', /at byte 16 \(record 0\): Bad escaped character/],
      ['{"a":01}', /at byte 6 \(record 0\): Unexpected number/],
      ['{"a":"tab\there"}', /at byte 9 \(record 0\): Bad control character/],
    ];
    for (const [text, message] of cases) {
      const err = bodyError(() => decode(Buffer.from(text), 'application/json'));
      expect(err.status, text).toBe(400);
      expect(err.message, text).toMatch(message);
    }
  });

  it('nesting deeper than maxDepth → 400 (no stack overflow)', () => {
    const deep = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(bodyError(() => decode(deep, 'application/x-ndjson')).message).toMatch(
      /nested more than 64 levels/,
    );
    const mpDeep = Buffer.concat([
      Buffer.from([0x92, 0x01]),
      Buffer.alloc(100_000, 0x91),
      Buffer.from([0xc0]),
    ]);
    expect(bodyError(() => decode(mpDeep, 'application/msgpack')).message).toMatch(
      /nested more than 64 levels/,
    );
    expect(
      decode(json([{ a: { b: { c: [1] } }, log: 'x' }]), 'application/json', { limits: { maxDepth: 4 } }),
    ).toHaveLength(1);
    expect(
      bodyError(() =>
        decode(json([{ a: { b: { c: [1] } } }]), 'application/json', { limits: { maxDepth: 3 } }),
      ).status,
    ).toBe(400);
  });

  it('invalid UTF-8 never throws anything but a BodyError', () => {
    const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]);
    // Inside JSON strings: replacement characters, the line kept.
    const inString = Buffer.concat([Buffer.from('[{"log":"GET '), bad, Buffer.from('"}]')]);
    expect(decode(inString, 'application/json')[0]!.line).toMatch(/^GET .*\uFFFD/);
    // Outside strings: a 400.
    const outside = Buffer.concat([Buffer.from('{"log":'), bad, Buffer.from('}')]);
    expect(bodyError(() => decode(outside, 'application/json')).status).toBe(400);
    // Lines and msgpack str/bin payloads.
    expect(decode(Buffer.concat([bad, Buffer.from('\n')]), 'text/plain')[0]!.line).toContain('\uFFFD');
    const mpStr = Buffer.concat([
      Buffer.from([0x92, 0x01, 0x81, 0xa3]),
      Buffer.from('log'),
      Buffer.from([0xa0 | bad.length]),
      bad,
    ]);
    expect(typeof decode(mpStr, 'application/msgpack')[0]!.line).toBe('string');
    const mpBinKey = Buffer.concat([
      Buffer.from([0x92, 0x01, 0x81, 0xc4, bad.length]),
      bad,
      Buffer.from([0x01]),
    ]);
    expect(decode(mpBinKey, 'application/msgpack')[0]!.line).toContain('\uFFFD');
  });

  it('fuzz: arbitrary bytes in any format give entries or a BodyError', () => {
    const formats: BodyFormat[] = ['json', 'json_lines', 'json_stream', 'msgpack', 'lines'];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(...formats),
        fc.boolean(),
        (bytes, format, gz) => {
          const body = gz ? gzipSync(bytes) : Buffer.from(bytes);
          try {
            const entries = decodeBody(body, {
              format,
              contentEncoding: gz ? 'gzip' : undefined,
              limits: LIMITS,
            });
            for (const e of entries)
              expect(e.line !== undefined || e.bytes !== undefined || e.object !== undefined).toBe(true);
          } catch (err) {
            if (!(err instanceof BodyError)) throw err;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('fuzz: JSON-ish bytes give entries or a BodyError', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      ' ',
      '\n',
      'a',
      '1',
      '-',
      'e',
      'true',
      'null',
      '"log"',
      '\u00e9',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        try {
          decode(Buffer.from(tokens.join('')), 'application/json', {
            limits: { maxKeysPerRecord: 20, maxDepth: 8 },
          });
        } catch (err) {
          if (!(err instanceof BodyError)) throw err;
          expect(err.status).toBe(400);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('round trip: the same records give the same entries in every format', () => {
    const recordArb = fc.record(
      {
        log: fc.string({ maxLength: 40 }).map((s) => `${s}\n`),
        stream: fc.constantFrom('stdout', 'stderr'),
        kubernetes: fc.record({
          pod_name: fc.stringMatching(/^[a-z]{1,8}-[0-9]$/),
          namespace_name: fc.stringMatching(/^[a-z]{1,8}$/),
          container_name: fc.constant('istio-proxy'),
          host: fc.constant('node-a'),
        }),
      },
      { requiredKeys: ['log', 'kubernetes'] },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 946684800, max: 4102444799 }), recordArb), { maxLength: 8 }),
        (events) => {
          const records = events.map(([t, r]) => ({ date: t, ...r }));
          const expected = events.map(([t, r]) => ({
            line: r.log!.replace(/[\r\n]+$/, ''),
            meta: {
              namespace: r.kubernetes.namespace_name,
              pod: r.kubernetes.pod_name,
              container: 'istio-proxy',
              workload: r.kubernetes.pod_name.replace(/-[0-9]$/, ''),
              node: 'node-a',
            },
            timeMs: t * 1000,
          }));
          expect(decode(json(records), 'application/json')).toEqual(expected);
          expect(decode(jsonLines(records), 'application/x-ndjson')).toEqual(expected);
          expect(decode(jsonStream(records), 'application/json')).toEqual(expected);
          expect(
            decode(msgpack(events.map(([t, r]) => [[eventTime(t, 0), {}], r])), 'application/msgpack'),
          ).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('records read in one pass (flat records repeating a kubernetes map seen before)', () => {
  /**
   * What the general path gives: each record parsed on its own, then entryFromRecord; its line as the bytes
   * the pipeline gets (a lone surrogate becomes U+FFFD in UTF-8, as the one-pass reader writes it).
   */
  const reference = (records: unknown[]) =>
    records.map((r) => {
      const e = entryFromRecord(r);
      return e.line === undefined ? e : { ...e, line: Buffer.from(e.line).toString('utf8') };
    });
  const KUBE_B = { ...KUBE, pod_name: 'payments-5d4f9b8c7-abcde', labels: { app: 'payments' } };
  const lines = [
    ISTIO_LINE,
    'with "quotes", a \\ backslash, a tab\t, unicode \u00e9 \ud83d\ude00 and a lone \ud800 surrogate',
    `${ISTIO_LINE}\r`,
    JSON.stringify(ENVOY_JSON),
  ];
  const records = Array.from({ length: 40 }, (_, i) => ({
    ...tailRecord(lines[i % lines.length]!, 1793491200 + i / 8),
    kubernetes: i % 10 < 6 ? KUBE : KUBE_B,
  }));

  it('give the entries the general path gives, in json_lines and json_stream', () => {
    const expected = reference(records);
    expect(decode(jsonLines(records), 'application/x-ndjson')).toEqual(expected);
    expect(decode(jsonLines(records, '\r\n'), 'application/x-ndjson')).toEqual(expected);
    expect(decode(jsonStream(records), 'application/json')).toEqual(expected);
    // Records of no pod, and records with nested values besides the map, mixed in.
    const mixed = [
      ...records.slice(0, 5),
      { log: 'bare' },
      { log: 'x', extra: { a: [1] } },
      ...records.slice(5, 9),
    ];
    expect(decode(jsonLines(mixed), 'application/x-ndjson')).toEqual(reference(mixed));
  });

  it("count the repeated map's keys and depth against the limits, as the general path does", () => {
    // 5 keys of the record plus 13 in KUBE (9, labels 3, annotations 1); labels open 2 levels below the record.
    const body = jsonLines(records.slice(0, 6));
    expect(
      decode(body, 'application/x-ndjson', { limits: { maxKeysPerRecord: 18, maxDepth: 3 } }),
    ).toHaveLength(6);
    // The map is the reader's hint by now: the next bodies' records would be read in one pass.
    const keys = bodyError(() => decode(body, 'application/x-ndjson', { limits: { maxKeysPerRecord: 17 } }));
    expect(keys.status).toBe(400);
    expect(keys.message).toBe('record 0 has more than 17 keys (limit ingest.maxKeysPerRecord)');
    decode(body, 'application/x-ndjson');
    const depth = bodyError(() => decode(body, 'application/x-ndjson', { limits: { maxDepth: 2 } }));
    expect(depth.status).toBe(400);
    expect(depth.message).toMatch(/^record 0 is nested more than 2 levels deep/);
    // A record with more keys of its own than the limit leaves, after the hinted map's.
    decode(body, 'application/x-ndjson');
    const wider = jsonLines([records[0], { ...records[1], a: 1, b: 2 }]);
    expect(
      bodyError(() => decode(wider, 'application/x-ndjson', { limits: { maxKeysPerRecord: 19 } })).message,
    ).toBe('record 1 has more than 19 keys (limit ingest.maxKeysPerRecord)');
  });

  it('a record over maxRecordBytes among them is a dead letter, the records after it are read', () => {
    const big = tailRecord('x'.repeat(3000));
    const body = jsonLines([...records.slice(0, 3), big, ...records.slice(3, 6)]);
    const out = decode(body, 'application/x-ndjson', { limits: { maxRecordBytes: 2000 } });
    expect(out).toHaveLength(7);
    expect(out[3]!.deadLetter?.reason).toMatch(/^record 3 is \d+ bytes, over ingest.maxRecordBytes \(2000\)/);
    expect(out.filter((e) => e !== out[3])).toEqual(reference([...records.slice(0, 6)]));
  });
});

describe('msgpack events read without decoding them (the line as sent, the kubernetes map compared)', () => {
  const KUBE_B = { ...KUBE, pod_name: 'payments-5d4f9b8c7-abcde', labels: { app: 'payments' } };
  const lines = [ISTIO_LINE, `${ISTIO_LINE}\r`, 'unicode é 😀 "quoted"', JSON.stringify(ENVOY_JSON)];
  /** Event i: seconds and nanoseconds, and its record. */
  const events = Array.from({ length: 30 }, (_, i) => {
    const kubernetes = i % 10 < 6 ? KUBE : KUBE_B;
    const record: Record<string, unknown> =
      i % 7 === 3
        ? { time: '2026-11-01T00:00:00.1Z', stream: 'stdout', logtag: 'F', message: lines[i % 4], kubernetes }
        : { log: `${lines[i % 4]}\n`, stream: 'stdout', time: '2026-11-01T00:00:00.003Z', kubernetes };
    if (i === 5) record['extra'] = { nested: [1, 2] }; // read the general way
    if (i === 6) delete record['kubernetes'];
    return { seconds: 1793491200 + i, nanoseconds: (i * 37_000_000) % 1e9, record };
  });
  const expected = events.map((e) =>
    asText(entryFromRecord(e.record, e.seconds * 1000 + Math.floor(e.nanoseconds / 1e6))),
  );

  it('give the entries the general path gives, for v2 and forward events', () => {
    const v2 = msgpack(events.map((e) => [[eventTime(e.seconds, e.nanoseconds), {}], e.record]));
    expect(decode(v2, 'application/msgpack')).toEqual(expected);
    const forward = msgpack(events.map((e) => [eventTime(e.seconds, e.nanoseconds), e.record]));
    expect(decode(forward, 'application/msgpack')).toEqual(expected);
    // Integer timestamps and group markers are read the general way, in the same body.
    const mixed = msgpack([
      [[eventTime(-1 >>> 0, 0), { otlp: {} }], {}],
      [1793491200, { log: 'legacy', kubernetes: KUBE }],
      [[eventTime(events[0]!.seconds, events[0]!.nanoseconds), {}], events[0]!.record],
      [[eventTime(-2 >>> 0, 0), {}], {}],
    ]);
    expect(decode(mixed, 'application/msgpack')).toEqual([
      { line: 'legacy', meta: META, timeMs: 1793491200000 },
      expected[0],
    ]);
  });

  it('a record the general path refuses is refused, not read: a str __proto__ key, a bad EventTime inside', () => {
    const good = [[eventTime(1793491200, 0), {}], { log: 'x', kubernetes: KUBE }];
    const proto = Buffer.concat([
      msgpack([good]),
      // { log: 'x', __proto__: 1 } written by hand: the encoder would not write that key.
      Buffer.from([0x92, 0x92, 0xd7, 0x00, 0x6a, 0xe8, 0x1c, 0x00, 0, 0, 0, 0, 0x80, 0x82]),
      encode('log'),
      encode('x'),
      encode('__proto__'),
      encode(1),
    ]);
    expect(bodyError(() => decode(proto, 'application/msgpack')).status).toBe(400);
    const badTime = msgpack([
      good,
      [[eventTime(1793491200, 0), {}], { log: 'x', kubernetes: { t: new ExtData(0, new Uint8Array(4)) } }],
    ]);
    expect(bodyError(() => decode(badTime, 'application/msgpack')).status).toBe(400);
  });
});

describe('metaFromKubernetes', () => {
  it('takes namespace, pod, container, node and the workload label', () => {
    expect(metaFromKubernetes(KUBE)).toEqual(META);
  });

  it('label precedence: app.kubernetes.io/name, app, service.istio.io/canonical-name, k8s-app', () => {
    const labels = {
      'k8s-app': 'd',
      'service.istio.io/canonical-name': 'c',
      app: 'b',
      'app.kubernetes.io/name': 'a',
    };
    const withLabels = (l: Record<string, string>) =>
      metaFromKubernetes({ pod_name: 'x-0', labels: l }).workload;
    expect(withLabels(labels)).toBe('a');
    expect(withLabels({ ...labels, 'app.kubernetes.io/name': '' })).toBe('b');
    expect(withLabels({ 'k8s-app': 'd', 'service.istio.io/canonical-name': 'c' })).toBe('c');
    expect(withLabels({ 'k8s-app': 'kube-dns' })).toBe('kube-dns');
    expect(withLabels({ version: 'v1' })).toBe('x');
  });

  it('falls back to the owner reference, then the pod name without generated suffixes', () => {
    const owned = (kind: string, name: string) =>
      metaFromKubernetes({ pod_name: 'whatever-0', ownerReferences: [{ kind, name, controller: true }] })
        .workload;
    expect(owned('ReplicaSet', 'reviews-v1-545db77b95')).toBe('reviews-v1');
    expect(owned('StatefulSet', 'kafka')).toBe('kafka');
    expect(owned('DaemonSet', 'fluent-bit')).toBe('fluent-bit');
    expect(owned('Job', 'backup-29012345')).toBe('backup');
  });

  it.each([
    ['sleep-7f9c8d-abcde', 'sleep'],
    ['reviews-v1-545db77b95-2ps7q', 'reviews-v1'],
    ['istio-ingressgateway-6c4f9f8b8d-vq2lm', 'istio-ingressgateway'],
    ['coredns-5d78c9869d-xk8wz', 'coredns'],
    ['db-0', 'db'],
    ['redis-cluster-12', 'redis-cluster'],
    ['fluent-bit-x7k2p', 'fluent-bit'],
    ['backup-29012345-4bq7n', 'backup'],
    ['nginx-proxy', 'nginx-proxy'],
    ['api-gateway-proxy', 'api-gateway-proxy'],
    ['kube-apiserver-node1', 'kube-apiserver-node1'],
    ['standalone', 'standalone'],
    ['', ''],
  ])('pod %s → workload %s', (pod, workload) => {
    expect(workloadFromPodName(pod)).toBe(workload);
  });

  it('anything that is not a map gives empty meta; non-string fields are ignored', () => {
    for (const k of [undefined, null, 'kube', 42, [KUBE]]) expect(metaFromKubernetes(k)).toEqual(emptyMeta());
    expect(metaFromKubernetes({ pod_name: 7, namespace_name: ['a'], host: 'n', labels: 'app=x' })).toEqual({
      ...emptyMeta(),
      node: 'n',
    });
  });
});

function emptyMeta() {
  return { namespace: '', pod: '', container: '', workload: '', node: '' };
}

describe('records read without JSON.parse', () => {
  const raw = (records: unknown[]) =>
    decodeBody(jsonLines(records), { contentType: 'application/x-ndjson', limits: LIMITS });

  it('the usual tail record takes the fast path: its line as bytes, one meta object per kubernetes map', () => {
    const entries = raw([tailRecord(ISTIO_LINE), tailRecord(ISTIO_LINE, 1793491201.5)]);
    expect(entries.map((e) => asText(e).line)).toEqual([ISTIO_LINE, ISTIO_LINE]);
    expect(entries.every((e) => e.line === undefined)).toBe(true);
    expect(entries[0]!.meta).toEqual(META);
    expect(entries[1]!.meta).toBe(entries[0]!.meta);
    expect(entries.map((e) => e.timeMs)).toEqual([1793491200123, 1793491201500]);
  });

  // Differential: whatever path a record takes, the entry is the one JSON.parse and entryFromRecord give.
  it('gives the same entries as JSON.parse and entryFromRecord for any record', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 12, unit: 'binary' }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.oneof(scalar, fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 3 }));
    const line = fc.oneof(
      fc.constant(ISTIO_LINE),
      fc.string({ maxLength: 60, unit: 'binary' }),
      fc.constantFrom('', '\n', '\r\n', `${ISTIO_LINE}\r\n`, 'a"b\\c\u0001\u2028\ud83d\ude00\ud800'),
    );
    const kubernetes = fc.oneof(
      fc.constant(KUBE),
      fc.record({ pod_name: fc.string({ maxLength: 10 }), namespace_name: fc.string({ maxLength: 6 }) }),
      value,
    );
    const date = fc.oneof(
      fc.integer({ min: 946684800, max: 4102444799 }),
      fc.constantFrom('2026-11-01T00:00:00.003456789Z', '2018-05-30 09:39:52.000681', 'soon'),
      value,
    );
    const record = fc.record(
      {
        date,
        '@timestamp': date,
        time: date,
        log: fc.oneof(line, value),
        message: fc.oneof(line, value),
        stream: fc.constantFrom('stdout', 'stderr'),
        kubernetes,
        other: value,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), (records) => {
        // As the pipeline stores them: UTF-8, where a lone surrogate becomes U+FFFD.
        const expected = records
          .map((r) => entryFromRecord(JSON.parse(JSON.stringify(r))))
          .map((e) => (e.line === undefined ? e : { ...e, line: Buffer.from(e.line).toString('utf8') }));
        expect(raw(records).map(asText)).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
