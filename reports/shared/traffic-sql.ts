/**
 * SQL fragments the reports share. The traffic classes live with the schema (store/traffic-classes.ts),
 * whose egress_requests view uses the same ones.
 */

export {
  BLOCKED_SQL,
  CLUSTER_HOST_SQL,
  HOST_SQL,
  PASSTHROUGH_SQL,
  TIMED_OUT_SQL,
} from '../../store/traffic-classes.js';

/** Is the text an IPv4 or IPv6 literal? */
export const IS_IP_SQL = (col: string) =>
  `(isIPv4String(${col}) OR isIPv6String(trim(BOTH '[]' FROM ${col})))`;

/**
 * Is the text a link-local IP literal (169.254.0.0/16, fe80::/10)? The same test as `isLinkLocal` in
 * service-entry-flags.ts, as text: fe80::/10 addresses start with a full four-digit hextet fe80–febf.
 */
export const IS_LINK_LOCAL_SQL = (col: string) =>
  `(isIPv4String(${col}) AND startsWith(${col}, '169.254.')
  OR isIPv6String(trim(BOTH '[]' FROM ${col})) AND match(lower(trim(BOTH '[]' FROM ${col})), '^fe[89ab][0-9a-f]:'))`;
