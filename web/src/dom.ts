/** A few DOM helpers: elements from tag, attributes and children, text escaped by construction. */

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
    else if (k === 'style') el.style.cssText = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmt = new Intl.NumberFormat('en');

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `state ${state}` }, state);
}

export function table(headers: Array<string | [string, 'num']>, rows: Child[][]): HTMLTableElement {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...headers.map((c) => (Array.isArray(c) ? h('th', { class: 'num' }, c[0]) : h('th', {}, c))),
      ),
    ),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h('tr', {}, ...r.map((c, i) => h('td', Array.isArray(headers[i]) ? { class: 'num' } : {}, c))),
      ),
    ),
  );
}

/** "12 of 340" when a list was cut, so nothing is silently missing. */
export function countNote(shown: number, total: number, what: string): HTMLElement {
  const noun = total === 1 ? singular(what) : what;
  return h(
    'p',
    { class: 'muted' },
    shown < total ? `${fmt.format(shown)} of ${fmt.format(total)} ${noun}` : `${fmt.format(total)} ${noun}`,
  );
}

/** "destinations would be blocked" → "destination would be blocked". */
export function singular(what: string): string {
  const [first = '', ...rest] = what.split(' ');
  return [first.replace(/ies$/, 'y').replace(/s$/, ''), ...rest].join(' ');
}

export function download(name: string, text: string, type = 'application/yaml'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copy(text: string): Promise<void> {
  await navigator.clipboard.writeText(text);
}
