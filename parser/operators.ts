/**
 * What each Envoy command operator means to the parser: the canonical field name (Istio's JSON key
 * where Istio has one), the value type, and the shape of the text it can produce, which decides
 * how a scanner may find the end of its value.
 */
import type { OperatorToken } from './format-string.js';

export type ValueType = 'time' | 'int' | 'flags' | 'string';

/**
 * - `token`: never contains spaces or quotes (Envoy renders it from its own state).
 * - `text`: Envoy's own text, may contain spaces but never the literal that closes it.
 * - `client`: header or SNI text a client or upstream controls; Envoy does not escape it in TEXT logs,
 *   so it may contain anything, including the literal that follows it.
 * - `protocol`: a closed vocabulary (`HTTP/1.1`, `HTTP/2`, `-`), which can be split off a neighbour.
 */
export type Shape = 'token' | 'text' | 'client' | 'protocol';

export interface FieldSpec {
  name: string;
  type: ValueType;
  shape: Shape;
  /** For `client` fields: higher means more likely to contain stray delimiters (it absorbs the ambiguity). */
  risk: number;
  /** START_TIME's strftime argument, when given. */
  timeFormat?: string;
  operator: OperatorToken;
}

const INT_OPERATORS = new Set([
  'RESPONSE_CODE',
  'BYTES_RECEIVED',
  'BYTES_SENT',
  'DURATION',
  'REQUEST_DURATION',
  'REQUEST_TX_DURATION',
  'RESPONSE_DURATION',
  'RESPONSE_TX_DURATION',
  'ROUNDTRIP_DURATION',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'REQUEST_HEADERS_BYTES',
  'RESPONSE_HEADERS_BYTES',
  'RESPONSE_TRAILERS_BYTES',
  'UPSTREAM_WIRE_BYTES_SENT',
  'UPSTREAM_WIRE_BYTES_RECEIVED',
  'UPSTREAM_HEADER_BYTES_SENT',
  'UPSTREAM_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_SENT',
  'DOWNSTREAM_WIRE_BYTES_RECEIVED',
  'DOWNSTREAM_HEADER_BYTES_SENT',
  'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'BYTES_RETRANSMITTED',
  'UPSTREAM_CONNECTION_ID',
  'CONNECTION_ID',
  'GRPC_STATUS_NUMBER',
  'DOWNSTREAM_LOCAL_PORT',
  'DOWNSTREAM_REMOTE_PORT',
  'UPSTREAM_LOCAL_PORT',
  'UPSTREAM_REMOTE_PORT',
]);

/** Operators whose text Envoy produces itself and which may contain spaces. */
const TEXT_OPERATORS = new Set([
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'DOWNSTREAM_TRANSPORT_FAILURE_REASON',
  'DYNAMIC_METADATA',
  'FILTER_STATE',
  'UPSTREAM_FILTER_STATE',
  'CLUSTER_METADATA',
  'UPSTREAM_METADATA',
  'METADATA',
  'LOCAL_REPLY_BODY',
  'ENVIRONMENT',
  'CEL',
  'TYPED_CEL',
  'CUSTOM_FLAGS',
  'DOWNSTREAM_PEER_SUBJECT',
  'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_LOCAL_SUBJECT',
  'UPSTREAM_PEER_SUBJECT',
  'UPSTREAM_PEER_ISSUER',
  'UPSTREAM_LOCAL_SUBJECT',
]);

/** Fixed names for the operators Istio's formats use, as Istio's JSON encoding names them. */
const FIXED_NAMES: Record<string, string> = {
  START_TIME: 'start_time',
  PROTOCOL: 'protocol',
  RESPONSE_CODE: 'response_code',
  RESPONSE_FLAGS: 'response_flags',
  RESPONSE_FLAGS_LONG: 'response_flags_long',
  RESPONSE_CODE_DETAILS: 'response_code_details',
  CONNECTION_TERMINATION_DETAILS: 'connection_termination_details',
  UPSTREAM_TRANSPORT_FAILURE_REASON: 'upstream_transport_failure_reason',
  BYTES_RECEIVED: 'bytes_received',
  BYTES_SENT: 'bytes_sent',
  DURATION: 'duration',
  UPSTREAM_HOST: 'upstream_host',
  UPSTREAM_CLUSTER: 'upstream_cluster',
  UPSTREAM_CLUSTER_RAW: 'upstream_cluster',
  UPSTREAM_LOCAL_ADDRESS: 'upstream_local_address',
  DOWNSTREAM_LOCAL_ADDRESS: 'downstream_local_address',
  DOWNSTREAM_REMOTE_ADDRESS: 'downstream_remote_address',
  REQUESTED_SERVER_NAME: 'requested_server_name',
  ROUTE_NAME: 'route_name',
};

/** Request headers with an Istio JSON key of their own. */
const REQUEST_HEADER_NAMES: Record<string, string> = {
  ':METHOD': 'method',
  ':PATH': 'path',
  'X-ENVOY-ORIGINAL-PATH?:PATH': 'path',
  ':AUTHORITY': 'authority',
  'X-FORWARDED-FOR': 'x_forwarded_for',
  'USER-AGENT': 'user_agent',
  'X-REQUEST-ID': 'request_id',
};

const HEADER_OPERATORS: Record<string, string> = {
  REQ: 'req',
  REQUEST_HEADER: 'req',
  RESP: 'resp',
  RESPONSE_HEADER: 'resp',
  TRAILER: 'trailer',
  RESPONSE_TRAILER: 'trailer',
};

export function snake(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function describeOperator(op: OperatorToken): FieldSpec {
  const base = { operator: op };
  const headerKind = HEADER_OPERATORS[op.name];
  if (headerKind) return describeHeader(op, headerKind);
  if (op.name === 'START_TIME') {
    return { ...base, name: 'start_time', type: 'time', shape: 'token', risk: 0, timeFormat: op.arg };
  }
  if (op.name === 'PROTOCOL' || op.name === 'UPSTREAM_PROTOCOL') {
    return {
      ...base,
      name: FIXED_NAMES[op.name] ?? 'upstream_protocol',
      type: 'string',
      shape: 'protocol',
      risk: 0,
    };
  }
  if (op.name === 'RESPONSE_FLAGS' || op.name === 'RESPONSE_FLAGS_LONG') {
    return { ...base, name: FIXED_NAMES[op.name]!, type: 'flags', shape: 'token', risk: 0 };
  }
  if (op.name === 'DYNAMIC_METADATA' && op.arg === 'istio.mixer:status') {
    return { ...base, name: 'istio_policy_status', type: 'string', shape: 'text', risk: 0 };
  }
  if (op.name === 'REQUESTED_SERVER_NAME') {
    // SNI is client-chosen, but TLS host names carry no spaces or quotes; treating it as a token keeps the
    // trailing fields of Istio's formats anchorable from the right.
    return { ...base, name: 'requested_server_name', type: 'string', shape: 'token', risk: 0 };
  }
  const fixed = FIXED_NAMES[op.name];
  const name = fixed ?? snake(op.arg ? `${op.name}_${op.arg}` : op.name);
  const type: ValueType = INT_OPERATORS.has(op.name) ? 'int' : 'string';
  const shape: Shape = TEXT_OPERATORS.has(op.name) ? 'text' : 'token';
  return { ...base, name, type, shape, risk: 0 };
}

function describeHeader(op: OperatorToken, kind: string): FieldSpec {
  const header = (op.arg ?? '').toUpperCase();
  const base = { operator: op };
  if (kind === 'resp' && header === 'X-ENVOY-UPSTREAM-SERVICE-TIME') {
    // Set by Envoy's router from its own timer, so always a number or `-`.
    return { ...base, name: 'upstream_service_time', type: 'int', shape: 'token', risk: 0 };
  }
  if (kind === 'req') {
    const known = REQUEST_HEADER_NAMES[header];
    // Method and path cannot contain spaces: Envoy's HTTP codecs reject them.
    if (known === 'method' || known === 'path')
      return { ...base, name: known, type: 'string', shape: 'token', risk: 0 };
    const risk =
      header === 'USER-AGENT' ? 3 : header === 'X-REQUEST-ID' || header === 'X-FORWARDED-FOR' ? 1 : 2;
    return { ...base, name: known ?? snake(header), type: 'string', shape: 'client', risk };
  }
  return { ...base, name: `${kind}_${snake(header)}`, type: 'string', shape: 'client', risk: 2 };
}
