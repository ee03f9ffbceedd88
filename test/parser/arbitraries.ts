/**
 * fast-check arbitraries for field values Envoy can actually write: no newlines, integers non-negative,
 * Envoy's own tokens without spaces or quotes; client text without double quotes, except the user agent,
 * which may contain anything (including the `" "` that separates quoted fields).
 */
import fc from 'fast-check';
import type { Values } from './render.js';

const noNewline = (s: string) => !/[\r\n]/.test(s);
/** `-` and the empty string both render as `-`, i.e. unset: values must not be either. */
const notUnset = (s: string) => s !== '' && s !== '-';

/** Printable ASCII without space and `"`. */
const TOKEN_CHARS = /^[!#-~]+$/;

export const tokenArb = fc
  .string({
    unit: fc.constantFrom(
      ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    ),
    minLength: 1,
    maxLength: 24,
  })
  .filter((s) => TOKEN_CHARS.test(s) && notUnset(s));

const orUnset = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: arb, weight: 4 }, { arbitrary: fc.constant(null), weight: 1 });

export const intArb = orUnset(
  fc.oneof(fc.nat({ max: 1000 }), fc.nat(), fc.integer({ min: 0, max: 999_999_999_999_999 })),
);

const ipv4 = fc
  .tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.nat({ max: 255 }))
  .map((p) => p.join('.'));
const ipv6 = fc
  .array(fc.nat({ max: 0xffff }), { minLength: 2, maxLength: 8 })
  .map((p) => p.map((x) => x.toString(16)).join(':'));
export const addressArb = orUnset(
  fc.oneof(
    fc.tuple(ipv4, fc.nat({ max: 65535 })).map(([ip, port]) => `${ip}:${port}`),
    fc.tuple(ipv6, fc.nat({ max: 65535 })).map(([ip, port]) => `[${ip}::1]:${port}`),
    tokenArb,
  ),
);

export const startTimeMsArb = fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });

const SHORT_FLAGS = [
  'UH',
  'UF',
  'UO',
  'NR',
  'URX',
  'NC',
  'DT',
  'DC',
  'LH',
  'UT',
  'LR',
  'UR',
  'UC',
  'DI',
  'FI',
  'RL',
  'UAEX',
  'RLSE',
  'IH',
  'SI',
  'DPE',
  'UPE',
  'UMSDR',
  'RFCF',
  'NFCF',
  'OM',
  'DF',
  'DO',
  'DR',
  'UDO',
];
export const flagsArb = orUnset(
  fc.uniqueArray(fc.constantFrom(...SHORT_FLAGS), { minLength: 1, maxLength: 3 }).map((f) => f.join(',')),
);

/** Envoy's own free text (transport failure reasons, Mixer status): spaces and unicode, no double quote. */
export const envoyTextArb = orUnset(
  fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.constantFrom(
        'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED',
        'delayed connect error: 111',
        'UNAVAILABLE:Mixer policy check failed',
      ),
    )
    .filter((s) => noNewline(s) && !s.includes('"') && notUnset(s)),
);

/** A client header other than the user agent: anything but newlines and double quotes. */
export const clientTextArb = orUnset(
  fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.string({
        unit: fc.constantFrom('a', ' ', ',', '1', '.', 'ü', '🚀', ']', '[', '-', '\t'),
        minLength: 1,
        maxLength: 20,
      }),
      fc.constantFrom('1.2.3.4, 10.0.0.1', '203.0.113.7', 'httpbin.org', 'ab12cd34ef56'),
    )
    .filter((s) => noNewline(s) && !s.includes('"') && notUnset(s)),
);

/** The user agent: anything on one line, with a bias towards the delimiters that make TEXT logs ambiguous. */
export const userAgentArb = orUnset(
  fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
      fc.string({
        unit: fc.constantFrom(
          '" "',
          '"',
          ' ',
          '- ',
          'x',
          'ü',
          '🚀',
          '] "',
          '" 200 - ',
          ' 0 0 0 - "',
          '\\"',
          '%',
        ),
        minLength: 1,
        maxLength: 12,
      }),
      fc.constantFrom('curl/8.8.0', 'evil" "agent" "with" "quotes', '" "', '" " " " " "', 'x" "y'),
    )
    .filter((s) => noNewline(s) && notUnset(s)),
);

export const methodArb = orUnset(
  fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'CONNECT'),
);
export const protocolArb = orUnset(fc.constantFrom('HTTP/1.0', 'HTTP/1.1', 'HTTP/2', 'HTTP/3'));
/** Paths cannot hold spaces (codecs reject them); no double quotes either. */
export const pathArb = orUnset(
  fc
    .string({ unit: 'binary', maxLength: 40 })
    .map((s) => `/${s}`)
    .filter((s) => noNewline(s) && !/[\s"]/.test(s)),
);

export const clusterArb = orUnset(
  fc.oneof(
    tokenArb,
    fc.constantFrom(
      'PassthroughCluster',
      'BlackHoleCluster',
      'outbound|443||api.stripe.com',
      'inbound|8080||',
    ),
    tokenArb.map((t) => `outbound|80||${t};`),
  ),
);

/** Values for every operator the presets use; the start time as Envoy's default ISO text. */
export const valuesArb: fc.Arbitrary<Values> = fc.record({
  start_time: startTimeMsArb.map((ms) => new Date(ms).toISOString()),
  method: methodArb,
  path: pathArb,
  protocol: protocolArb,
  response_code: intArb,
  response_flags: flagsArb,
  response_code_details: orUnset(tokenArb),
  connection_termination_details: orUnset(tokenArb),
  upstream_transport_failure_reason: envoyTextArb,
  istio_policy_status: envoyTextArb,
  bytes_received: intArb,
  bytes_sent: intArb,
  duration: intArb,
  upstream_service_time: intArb,
  x_forwarded_for: clientTextArb,
  user_agent: userAgentArb,
  request_id: clientTextArb,
  authority: clientTextArb,
  upstream_host: addressArb,
  upstream_cluster: clusterArb,
  upstream_local_address: addressArb,
  downstream_local_address: addressArb,
  downstream_remote_address: addressArb,
  requested_server_name: orUnset(tokenArb),
  route_name: orUnset(tokenArb),
});
