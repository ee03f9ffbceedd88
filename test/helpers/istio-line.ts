/** One Istio 1.23 TEXT access-log line from named fields; unset fields print as Envoy prints them (`-`). */
export interface LineFields {
  ts: string;
  method?: string;
  path?: string;
  protocol?: string;
  code?: number;
  flags?: string;
  details?: string;
  bytesIn?: number;
  bytesOut?: number;
  duration?: number;
  upstreamServiceTime?: number;
  xff?: string;
  ua?: string;
  requestId?: string;
  authority?: string;
  upstreamHost?: string;
  cluster?: string;
  upstreamLocal?: string;
  downstreamLocal?: string;
  downstreamRemote?: string;
  sni?: string;
  route?: string;
}

const d = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));

export function istioLine(f: LineFields): string {
  const tcp = f.method === undefined;
  return `[${f.ts}] "${tcp ? '- - -' : `${f.method} ${f.path ?? '/'} ${f.protocol ?? 'HTTP/1.1'}`}" ${f.code ?? (tcp ? 0 : 200)} ${d(f.flags)} ${d(f.details)} - "-" ${f.bytesIn ?? 0} ${f.bytesOut ?? 0} ${f.duration ?? 1} ${d(f.upstreamServiceTime)} "${d(f.xff)}" "${d(f.ua)}" "${d(f.requestId)}" "${d(f.authority)}" "${d(f.upstreamHost)}" ${d(f.cluster)} ${d(f.upstreamLocal)} ${d(f.downstreamLocal)} ${d(f.downstreamRemote ?? '10.244.1.5:40000')} ${d(f.sni)} ${d(f.route)}`;
}
