/**
 * When to suggest `*.parent` instead of one entry per host: when at least `minSiblings` distinct sibling
 * subdomains of the same parent were seen (hosts that are one label below `parent`, e.g. `a.example.com` and
 * `b.example.com` under `example.com`). The parent must have at least two labels (never `*.com`) and must not be
 * a public suffix (`*.co.uk` would admit every British company); a short list of such two-label suffixes is
 * built in (not the full Public Suffix List). Deeper hosts (`x.y.example.com`) are not siblings of `a.example.com`
 * and keep their own entries, even though Istio's `*.example.com` would also match them.
 */

export interface WildcardGroup {
  /** `*.example.com` */
  wildcard: string;
  /** `example.com` */
  parent: string;
  /** The sibling hosts seen, sorted. */
  members: string[];
}

/** Two-label public suffixes under which a wildcard is never suggested. */
export const PUBLIC_SUFFIXES: ReadonlySet<string> = new Set(
  (
    'co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk com.au net.au org.au edu.au gov.au co.jp ne.jp or.jp ' +
    'ac.jp go.jp co.nz org.nz net.nz co.za org.za co.in net.in org.in co.kr or.kr com.br net.br org.br com.cn ' +
    'net.cn org.cn com.mx com.tr com.sg com.hk com.tw com.ar com.co com.pl co.il com.ua co.id com.my com.ph com.vn'
  ).split(' '),
);

/**
 * Parents shared by many tenants (cloud and hosting platforms): a wildcard under them admits every customer's
 * subdomain, not only the team's own.
 */
export const SHARED_PARENTS: readonly string[] = (
  'amazonaws.com cloudfront.net azurewebsites.net windows.net azureedge.net azurefd.net cloudapp.net appspot.com ' +
  'googleusercontent.com run.app web.app firebaseapp.com herokuapp.com github.io githubusercontent.com ' +
  'vercel.app netlify.app pages.dev workers.dev fly.dev onrender.com ngrok.io ngrok-free.app trycloudflare.com ' +
  'fastly.net akamaized.net edgekey.net digitaloceanspaces.com'
).split(' ');

export function isSharedParent(parent: string): boolean {
  return SHARED_PARENTS.some((s) => parent === s || parent.endsWith(`.${s}`));
}

/** `a.example.com` → `example.com`; undefined when the parent would have fewer than two labels. */
export function parentOf(host: string): string | undefined {
  const dot = host.indexOf('.');
  if (dot <= 0) return undefined;
  const parent = host.slice(dot + 1);
  if (parent.split('.').filter((l) => l !== '').length < 2) return undefined;
  if (PUBLIC_SUFFIXES.has(parent)) return undefined;
  return parent;
}

/** Groups of at least `minSiblings` (at least 2) sibling hosts, sorted by wildcard. */
export function findWildcardGroups(hosts: Iterable<string>, minSiblings: number): WildcardGroup[] {
  const min = Math.max(2, minSiblings);
  const byParent = new Map<string, Set<string>>();
  for (const host of hosts) {
    if (host.startsWith('*')) continue;
    const parent = parentOf(host);
    if (parent === undefined) continue;
    let set = byParent.get(parent);
    if (!set) byParent.set(parent, (set = new Set()));
    set.add(host);
  }
  const groups: WildcardGroup[] = [];
  for (const [parent, members] of byParent) {
    if (members.size >= min) groups.push({ wildcard: `*.${parent}`, parent, members: [...members].sort() });
  }
  return groups.sort((a, b) => (a.wildcard < b.wildcard ? -1 : a.wildcard > b.wildcard ? 1 : 0));
}
