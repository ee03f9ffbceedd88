/** The record every format parses into: Istio's JSON key names, integers as numbers, unset as null. */

export const INT_FIELDS = [
  'response_code',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
] as const;

/** Every canonical field after start_time, in the order Istio's formats print them (the store's column order). */
export const FIELD_ORDER = [
  'method',
  'path',
  'protocol',
  'response_code',
  'response_flags',
  'response_code_details',
  'connection_termination_details',
  'upstream_transport_failure_reason',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
  'x_forwarded_for',
  'user_agent',
  'request_id',
  'authority',
  'upstream_host',
  'upstream_cluster',
  'upstream_local_address',
  'downstream_local_address',
  'downstream_remote_address',
  'requested_server_name',
  'route_name',
] as const;

export type IntField = (typeof INT_FIELDS)[number];
export type StringField = Exclude<(typeof FIELD_ORDER)[number], IntField>;

export const STRING_FIELDS = FIELD_ORDER.filter(
  (f): f is StringField => !(INT_FIELDS as readonly string[]).includes(f),
);

export type AccessRecord = {
  /** The format that parsed the line: a preset name, `json`, or `custom`. */
  format: string;
  /** START_TIME as written. */
  start_time: string | null;
  start_time_ms: number | null;
  /** RESPONSE_FLAGS split on commas; empty when there are none. */
  response_flags_list: string[];
  /** Other operators (by derived name) and unknown JSON keys. */
  extra: Record<string, unknown> | null;
} & { [K in StringField]: string | null } & { [K in IntField]: number | null };

/** Why a line did not parse, where matching failed, and the line itself. Returned, never thrown. */
export class ParseFailure {
  constructor(
    readonly error: string,
    readonly offset: number,
    readonly raw: string,
  ) {}
}

export function isParseFailure(value: AccessRecord | ParseFailure): value is ParseFailure {
  return value instanceof ParseFailure;
}

/** A record with every field unset; one object literal so records share one hidden class. */
export function emptyRecord(format: string): AccessRecord {
  return {
    format,
    start_time: null,
    start_time_ms: null,
    method: null,
    path: null,
    protocol: null,
    response_code: null,
    response_flags: null,
    response_flags_list: [],
    response_code_details: null,
    connection_termination_details: null,
    upstream_transport_failure_reason: null,
    bytes_received: null,
    bytes_sent: null,
    duration: null,
    upstream_service_time: null,
    x_forwarded_for: null,
    user_agent: null,
    request_id: null,
    authority: null,
    upstream_host: null,
    upstream_cluster: null,
    upstream_local_address: null,
    downstream_local_address: null,
    downstream_remote_address: null,
    requested_server_name: null,
    route_name: null,
    extra: null,
  };
}

const CANONICAL = new Set<string>([...STRING_FIELDS, ...INT_FIELDS, 'start_time']);

export function isCanonicalField(name: string): boolean {
  return CANONICAL.has(name);
}
