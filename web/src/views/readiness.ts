/** Lockdown readiness: per namespace, what REGISTRY_ONLY would admit and block, and the Sidecar to apply. */
import { getJson } from '../api.js';
import { copy, countNote, download, fmt, h, table } from '../dom.js';
import type { Filters } from '../filters.js';

interface NamespaceReadiness {
  namespace: string;
  requests: number;
  admittedByRegistry: number;
  admittedWithSuggestions: number;
  wouldBlock: number;
  /** (admitted by the registry + by the suggestions) / requests */
  share: number;
  destinationsToBlock: {
    items: Array<{ host: string; port: number; requests: number; reason: string }>;
    total: number;
    truncated: boolean;
  };
  sidecarYaml: string;
}
interface Readiness {
  namespaces: NamespaceReadiness[];
  total: number;
  truncated: boolean;
}

const pct = (x: number) => `${(100 * x).toFixed(x >= 0.9995 || x === 0 ? 0 : 1)}%`;

function shareBar(n: NamespaceReadiness): HTMLElement {
  const part = (v: number, color: string) =>
    h('span', { style: `width:${n.requests ? (100 * v) / n.requests : 0}%;background:var(--${color})` });
  return h(
    'div',
    { class: 'bar', title: 'registry · suggestions · would be blocked' },
    part(n.admittedByRegistry, 'allowed'),
    part(n.admittedWithSuggestions, 'passthrough'),
    part(n.wouldBlock, 'blocked'),
  );
}

export async function readinessView(root: HTMLElement, filters: Filters): Promise<void> {
  const r = await getJson<Readiness>('/v1/reports/readiness', { ...filters, format: 'json' });
  root.replaceChildren(
    h('h1', {}, 'Lockdown readiness'),
    h(
      'p',
      { class: 'muted' },
      'For each namespace: the share of its external requests in the window that the registry plus the suggested ServiceEntries would admit under REGISTRY_ONLY, and what would still be blocked.',
    ),
    countNote(r.namespaces.length, r.total, 'namespaces'),
    r.namespaces.length === 0
      ? h('p', { class: 'empty' }, 'No external requests in this window.')
      : table(
          ['namespace', ['external requests', 'num'], ['admitted', 'num'], '', ['would be blocked', 'num']],
          r.namespaces.map((n) => [
            h('a', { href: `#ns-${n.namespace}` }, n.namespace || '(no namespace)'),
            fmt.format(n.requests),
            pct(n.share),
            shareBar(n),
            fmt.format(n.wouldBlock),
          ]),
        ),
    ...r.namespaces.map((n) =>
      h(
        'div',
        { class: 'card entry', id: `ns-${n.namespace}`, style: 'margin-top:16px' },
        h('h2', {}, `${n.namespace || '(no namespace)'} — ${pct(n.share)} admitted`),
        n.destinationsToBlock.total === 0
          ? h('p', {}, 'Nothing in the window would be blocked once the suggestions are applied.')
          : h(
              'div',
              {},
              countNote(
                n.destinationsToBlock.items.length,
                n.destinationsToBlock.total,
                'destinations would be blocked',
              ),
              table(
                ['host', ['port', 'num'], ['requests', 'num'], 'why'],
                n.destinationsToBlock.items.map((d) => [d.host, d.port, fmt.format(d.requests), d.reason]),
              ),
            ),
        h(
          'div',
          { class: 'toolbar', style: 'margin-top:10px' },
          h('strong', {}, 'Sidecar'),
          h(
            'button',
            { class: 'secondary', type: 'button', onclick: () => void copy(n.sidecarYaml) },
            'Copy',
          ),
          h(
            'button',
            {
              class: 'secondary',
              type: 'button',
              onclick: () => download(`sidecar-${n.namespace}.yaml`, n.sidecarYaml),
            },
            'Download',
          ),
        ),
        h('pre', { class: 'yaml' }, n.sidecarYaml),
      ),
    ),
  );
}
