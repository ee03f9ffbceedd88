/**
 * Access-log entries Fluent Bit already decoded: its `envoy` / `istio-envoy-proxy` regex parsers' keys, or an
 * Envoy JSON log the kubernetes filter merged into the record (`merge_log`), at top level or under a merge key.
 */

/** With `start_time`, any of these marks an object as an access-log entry (`code`: the envoy regex parser). */
const EVIDENCE = [
  'response_code',
  'code',
  'upstream_cluster',
  'response_flags',
  'upstream_host',
  'duration',
  'bytes_sent',
];

/** Where `merge_log_key` usually puts the merged log; other keys holding such an object are found too. */
const MERGE_KEYS = ['log_processed'];

export function isAccessLogObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value) || !Object.hasOwn(value, 'start_time')) return false;
  return EVIDENCE.some((key) => Object.hasOwn(value, key));
}

/**
 * The access-log object in a record: the record itself minus `omit` (the keys Fluent Bit added: kubernetes
 * metadata, its date key), or the value of a merge key, or of any key whose value is an access-log object.
 */
export function findAccessLogObject(
  record: Record<string, unknown>,
  omit: readonly string[],
): Record<string, unknown> | undefined {
  if (isAccessLogObject(record)) {
    // fromEntries defines properties, so a JSON `__proto__` key stays a plain key.
    return Object.fromEntries(Object.entries(record).filter(([key]) => !omit.includes(key)));
  }
  for (const key of MERGE_KEYS) {
    const value = Object.hasOwn(record, key) ? record[key] : undefined;
    if (isAccessLogObject(value)) return value;
  }
  for (const key of Object.keys(record)) {
    if (omit.includes(key)) continue;
    const value = record[key];
    if (isAccessLogObject(value)) return value;
  }
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}
