/**
 * What decoding a Fluent Bit record (HTTP body or Kafka message) yields for the pipeline: the access-log line or
 * object and the Kubernetes metadata of its source. Its own module so the decoders and the record readers can
 * share it without importing each other.
 */

export interface SourceMeta {
  namespace: string;
  pod: string;
  container: string;
  /** Label `app.kubernetes.io/name`, `app`, `service.istio.io/canonical-name` or `k8s-app`, else the owner, else the pod name without its generated suffixes. */
  workload: string;
  node: string;
}

export interface DecodedEntry {
  /** The raw access-log line (Envoy TEXT, or Envoy JSON text) when the record carries one in `log` or `message` (trailing \n / \r\n removed). */
  line?: string;
  /** The same line as UTF-8 bytes, instead of `line`, for records read without JSON.parse (bytes as sent, not repaired). */
  bytes?: Buffer;
  /**
   * Where the line is in `bytes` (end exclusive), when `bytes` is a buffer shared by many entries (a body's
   * unescaped lines, a msgpack body): no Buffer object per line. The whole of `bytes` when absent.
   */
  start?: number;
  end?: number;
  /** An access-log object Fluent Bit already parsed (its envoy/istio-envoy-proxy regex parser keys, or an Envoy JSON log merged into the record by the kubernetes filter's merge_log, top-level or under a merge key), when there is no raw line. */
  object?: Record<string, unknown>;
  meta: SourceMeta;
  /** Fluent Bit's record timestamp in epoch ms, when present (date key for JSON formats, event time for msgpack). */
  timeMs?: number;
  /** A record kept as a dead letter instead of being decoded (over maxRecordBytes): why, and its start. */
  deadLetter?: { reason: string; raw: string };
}

/** Nesting a record may have (maps and arrays) before decoding refuses it; config ingest.maxDepth. */
export const DEFAULT_MAX_DEPTH = 64;
/** A record longer than this becomes a dead letter instead of being decoded; config ingest.maxRecordBytes. */
export const DEFAULT_MAX_RECORD_BYTES = 1 << 20;
