/**
 * SQL fragments the reports share. The traffic classes live with the schema (store/traffic-classes.ts),
 * whose egress_requests view uses the same ones.
 */

export {
  ALLOWED_EXTERNAL_SQL,
  BLOCKED_SQL,
  CLUSTER_HOST_SQL,
  HOST_SQL,
  PASSTHROUGH_SQL,
  STATE_SQL,
  TIMED_OUT_SQL,
} from '../../store/traffic-classes.js';

/** Is the text an IPv4 or IPv6 literal? */
export const IS_IP_SQL = (col: string) =>
  `(isIPv4String(${col}) OR isIPv6String(trim(BOTH '[]' FROM ${col})))`;
