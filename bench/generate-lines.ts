/**
 * Seeded, realistic Istio access-log traffic for benchmarks and tests: in-mesh calls, ServiceEntry-allowed
 * egress, PassthroughCluster (ALLOW_ANY) HTTP and TLS, BlackHoleCluster (REGISTRY_ONLY) blocks, route
 * timeouts, connection failures, long and hostile user agents, multi-hop X-Forwarded-For.
 */

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedLine {
  kind:
    | 'mesh'
    | 'allowed'
    | 'passthrough-http'
    | 'passthrough-tls'
    | 'blocked-http'
    | 'blocked-tcp'
    | 'timeout'
    | 'failure';
  line: string;
}

export const EXTERNAL_HOSTS = [
  'api.stripe.com',
  'hooks.slack.com',
  'api.github.com',
  'sqs.eu-west-1.amazonaws.com',
  's3.eu-west-1.amazonaws.com',
  'www.googleapis.com',
  'oauth2.googleapis.com',
  'api.twilio.com',
  'httpbin.org',
  'registry.npmjs.org',
  'pypi.org',
  'api.sendgrid.com',
];

const USER_AGENTS = [
  'curl/8.8.0',
  'Go-http-client/1.1',
  'python-requests/2.31.0',
  'okhttp/4.12.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  'Apache-HttpClient/4.5.14 (Java/17.0.10)',
  'aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.10+7 Java/17.0.10 vendor/Eclipse_Adoptium io/sync http/Apache cfg/retry-mode/legacy',
  'evil" "agent" "with" "quotes',
];

const PATHS = [
  '/',
  '/v1/charges',
  '/api/items?page=2&size=50',
  '/healthz',
  '/oauth/callback?code=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc&state=xyz',
  '/delay/5',
  '/headers',
];
const MESH_SERVICES = ['reviews', 'ratings', 'details', 'productpage', 'catalog', 'orders'];
const MESH_NAMESPACES = ['shop', 'default', 'payments'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD'];

export interface GenerateOptions {
  seed?: number;
  /** Epoch ms of the first line. */
  startMs?: number;
  /** Mean spacing between lines, ms. */
  stepMs?: number;
  /**
   * Draw pod addresses and external destination addresses from fixed pools of this many, and give each
   * Service one cluster IP, as a real mesh repeats them (for storage figures). Unset: a fresh random address
   * on every line (the default data set).
   */
  pools?: { pods: number; destinations: number };
}

export class LineGenerator {
  private readonly rnd: () => number;
  private t: number;
  private readonly step: number;
  private readonly podPool?: string[];
  private readonly destinationPool?: string[];

  constructor(opts: GenerateOptions = {}) {
    this.rnd = mulberry32(opts.seed ?? 42);
    this.t = opts.startMs ?? Date.UTC(2026, 10, 1);
    this.step = opts.stepMs ?? 3;
    if (opts.pools) {
      // Filled from their own sequence, so the lines' sequence is the same whatever the pool sizes.
      const own = new LineGenerator({ seed: (opts.seed ?? 42) + 1 });
      this.podPool = Array.from({ length: opts.pools.pods }, () => own.ip('10.244'));
      this.destinationPool = Array.from({ length: opts.pools.destinations }, () => own.externalIp());
    }
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  private ip(prefix: string): string {
    return `${prefix}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }

  private externalIp(): string {
    return `${this.int(3, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }

  private podIp(): string {
    return this.podPool ? this.pick(this.podPool) : this.ip('10.244');
  }

  private requestId(): string {
    const h = () =>
      Math.floor(this.rnd() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    const a = h();
    const b = h();
    return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${h().slice(0, 4)}-${h()}${h().slice(0, 4)}`;
  }

  next(): GeneratedLine {
    this.t += Math.floor(this.rnd() * 2 * this.step);
    const ts = new Date(this.t).toISOString();
    const pod = this.podIp();
    const src = `${pod}:${this.int(32768, 60999)}`;
    const r = this.rnd();
    const xff = this.rnd() < 0.2 ? `${this.ip('203.0')}, ${this.ip('10.1')}` : '-';
    const ua = this.pick(USER_AGENTS);
    const method = this.pick(METHODS);
    const path = this.pick(PATHS);
    const host = this.pick(EXTERNAL_HOSTS);
    const extIp = this.destinationPool ? this.pick(this.destinationPool) : this.externalIp();
    const id = this.requestId();
    const dur = this.int(1, 400);
    if (r < 0.45) {
      const svc = this.pick(MESH_SERVICES);
      const ns = this.pick(MESH_NAMESPACES);
      // A Service has one cluster IP; the default data set draws a fresh one per line.
      const vip = this.podPool
        ? `10.96.${MESH_NAMESPACES.indexOf(ns)}.${10 + MESH_SERVICES.indexOf(svc)}`
        : this.ip('10.96');
      return {
        kind: 'mesh',
        line: `[${ts}] "${method} ${path} HTTP/1.1" 200 - via_upstream - "-" ${this.int(0, 900)} ${this.int(20, 90000)} ${dur} ${dur - 1} "${xff}" "${ua}" "${id}" "${svc}.${ns}:9080" "${this.podIp()}:9080" outbound|9080||${svc}.${ns}.svc.cluster.local ${src} ${vip}:9080 ${pod}:${this.int(32768, 60999)} - default`,
      };
    }
    if (r < 0.6) {
      return {
        kind: 'allowed',
        line: `[${ts}] "- - -" 0 - - - "-" ${this.int(500, 3000)} ${this.int(1000, 90000)} ${dur} - "-" "-" "-" "-" "${extIp}:443" outbound|443||${host} ${src} ${extIp}:443 ${pod}:${this.int(32768, 60999)} ${host} -`,
      };
    }
    if (r < 0.72) {
      return {
        kind: 'passthrough-http',
        line: `[${ts}] "${method} ${path} HTTP/1.1" 200 - via_upstream - "-" 0 ${this.int(20, 9000)} ${dur} ${dur} "${xff}" "${ua}" "${id}" "${host}" "${extIp}:80" PassthroughCluster ${src} ${extIp}:80 ${pod}:${this.int(32768, 60999)} - allow_any`,
      };
    }
    if (r < 0.82) {
      return {
        kind: 'passthrough-tls',
        line: `[${ts}] "- - -" 0 - - - "-" ${this.int(500, 3000)} ${this.int(1000, 90000)} ${dur} - "-" "-" "-" "-" "${extIp}:443" PassthroughCluster ${src} ${extIp}:443 ${pod}:${this.int(32768, 60999)} - -`,
      };
    }
    if (r < 0.86) {
      return {
        kind: 'blocked-http',
        line: `[${ts}] "${method} ${path} HTTP/1.1" 502 - direct_response - "-" 0 0 0 - "${xff}" "${ua}" "${id}" "${host}" "-" - - ${extIp}:80 ${src} - block_all`,
      };
    }
    if (r < 0.91) {
      return {
        kind: 'blocked-tcp',
        line: `[${ts}] "- - -" 0 UH - - "-" 0 0 ${this.int(0, 9)} - "-" "-" "-" "-" "-" BlackHoleCluster - ${extIp}:443 ${src} - -`,
      };
    }
    if (r < 0.96) {
      return {
        kind: 'timeout',
        line: `[${ts}] "GET /delay/5 HTTP/1.1" 504 UT response_timeout - "-" 0 24 ${this.int(3000, 3009)} - "${xff}" "${ua}" "${id}" "${host}" "${extIp}:80" outbound|80||${host} ${src} ${extIp}:80 ${pod}:${this.int(32768, 60999)} - default`,
      };
    }
    return {
      kind: 'failure',
      line: `[${ts}] "POST ${path} HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111} - "TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED" 0 91 ${dur} - "${xff}" "${ua}" "${id}" "${host}" "${extIp}:443" outbound|443||${host} - ${extIp}:443 ${src} ${host} default`,
    };
  }
}

/** Lines joined into ~1 MiB chunks, as a file reader would hand them to the parser. */
export function generateChunks(
  lineCount: number,
  opts: GenerateOptions = {},
): { chunks: string[]; bytes: number } {
  const gen = new LineGenerator(opts);
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 0;
  let bytes = 0;
  for (let i = 0; i < lineCount; i++) {
    const line = gen.next().line;
    parts.push(line);
    size += line.length + 1;
    if (size >= 1 << 20) {
      const chunk = `${parts.join('\n')}\n`;
      chunks.push(chunk);
      bytes += Buffer.byteLength(chunk);
      parts = [];
      size = 0;
    }
  }
  if (parts.length) {
    const chunk = `${parts.join('\n')}\n`;
    chunks.push(chunk);
    bytes += Buffer.byteLength(chunk);
  }
  return { chunks, bytes };
}
