/**
 * SQL fragments that classify egress traffic, shared by the reports and by the schema's egress_requests view
 * (store/schema.ts), so a report, a Grafana panel and a user's own SQL agree on what "blocked" or
 * "timed out" means. See ../shared/notes/envoy-formats.md §5 for the log shapes.
 */

/** REGISTRY_ONLY denials: BlackHoleCluster (TCP/TLS, flag UH), the 502 direct response on route block_all,
 * and typed JSON logs where the BlackHole cluster name is null. */
export const BLOCKED_SQL = `(upstream_cluster = 'BlackHoleCluster'
  OR (response_code = 502 AND route_name = 'block_all')
  OR (upstream_cluster = '' AND upstream_host = '' AND method = '' AND has(response_flags_list, 'UH')))`;

/** ALLOW_ANY pass-through to hosts the mesh does not know. */
export const PASSTHROUGH_SQL = `upstream_cluster = 'PassthroughCluster'`;

/** Route timeouts (504 UT, details response_timeout) and stream idle timeouts (SI). */
export const TIMED_OUT_SQL = `(has(response_flags_list, 'UT') OR has(response_flags_list, 'SI')
  OR (response_code = 504 AND response_code_details = 'response_timeout'))`;

/** The FQDN in an outbound cluster name: `outbound|443||www.google.com` → `www.google.com`. */
export const CLUSTER_HOST_SQL = `extract(upstream_cluster, '^outbound\\\\|[0-9]*\\\\|[^|]*\\\\|(.+)$')`;

/**
 * Is the name in `col` cluster-local: `*.svc`, the cluster domain, or a name under it? `domain` is SQL for the
 * domain: the reports' bound parameter `{cluster_domain:String}`, or, in the egress_requests view (which
 * takes no parameters), a quoted literal of the configured domain.
 */
export const inMeshNameSql = (col: string, domain: string) =>
  `(endsWith(${col}, '.svc') OR ${col} = ${domain} OR endsWith(${col}, concat('.', ${domain})))`;

/** Traffic allowed to an external host by a ServiceEntry: an outbound cluster whose host is not in-mesh. */
export const allowedExternalSql = (domain: string) => `(upstream_cluster LIKE 'outbound|%'
  AND NOT ${inMeshNameSql('upstream_cluster', domain)})`;

/** The destination as reports name it: the cluster's FQDN for outbound clusters, else SNI/authority/IP. */
export const HOST_SQL = `if(upstream_cluster LIKE 'outbound|%', ${CLUSTER_HOST_SQL}, dst_host)`;

/** One word per row: blocked, passthrough, allowed (by a ServiceEntry), in-mesh, or other (inbound …). */
export const stateSql = (
  domain: string,
) => `multiIf(${BLOCKED_SQL}, 'blocked', ${PASSTHROUGH_SQL}, 'passthrough',
  ${allowedExternalSql(domain)}, 'allowed', upstream_cluster LIKE 'outbound|%', 'in-mesh', 'other')`;
