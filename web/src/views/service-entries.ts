/**
 * Suggested ServiceEntries: YAML per entry, a page at a time, copy and download of one or all, and what the
 * registry covers.
 */
import { getJson, getText } from '../api.js';
import { copy, countNote, download, h } from '../dom.js';
import type { Filters } from '../filters.js';
import { pager } from '../pager.js';

/**
 * Suggestions a page shows. A large mesh has thousands; drawn all at once, their YAML made the view slow to
 * appear (bench:console). Copy all and Download all still take every one.
 */
const PAGE = 50;

interface SuggestionJson {
  name: string;
  kind: string;
  hosts: string[];
  warnings: string[];
  yaml: string;
}
interface Report {
  suggestions: SuggestionJson[];
  total: number;
  truncated: boolean;
  registry: null | {
    entries: number;
    covered: Array<{ suggestion: string; entry: string }>;
    partiallyCovered: Array<{ suggestion: string; reason: string }>;
    unused: Array<{ name: string; namespace: string; hosts: string[] }>;
  };
}

function copyButton(
  text: () => string | Promise<string>,
  label = 'Copy',
  attrs: Record<string, string> = {},
): HTMLButtonElement {
  const b = h('button', { class: 'secondary', type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    try {
      await copy(await text());
      b.textContent = 'Copied';
    } catch (err) {
      b.textContent = `Not copied: ${(err as Error).message}`;
    }
    setTimeout(() => (b.textContent = label), 1500);
  });
  return b;
}

function downloadButton(text: () => Promise<string>): HTMLButtonElement {
  const b = h('button', { type: 'button', id: 'download-all' }, 'Download all');
  b.addEventListener('click', async () => {
    try {
      download('service-entries.yaml', await text());
    } catch (err) {
      b.textContent = `Not downloaded: ${(err as Error).message}`;
      setTimeout(() => (b.textContent = 'Download all'), 3000);
    }
  });
  return b;
}

export async function serviceEntriesView(root: HTMLElement, filters: Filters): Promise<void> {
  // The whole YAML (the API's own, header included) is asked for when first wanted: fetched with the view,
  // it made the store compute the report twice at once on every visit.
  let allYaml: Promise<string> | undefined;
  const yaml = (): Promise<string> => {
    if (!allYaml) {
      allYaml = getText('/v1/reports/service-entries', { ...filters, format: 'yaml' });
      allYaml.catch(() => {
        allYaml = undefined; // asked again on the next click
      });
    }
    return allYaml;
  };
  // This view's own box: a page that arrives after another view (or new filters) replaced this one lands in
  // a detached box, never over what is on screen now.
  const box = h('div', {});
  const show = async (offset: number): Promise<void> => {
    const report = await getJson<Report>('/v1/reports/service-entries', {
      ...filters,
      format: 'json',
      limit: PAGE,
      offset,
    });
    render(box, report, offset, yaml, (next) => {
      show(next)
        .then(() => {
          if (box.isConnected) window.scrollTo({ top: 0 });
        })
        .catch((err: Error) =>
          box.prepend(h('p', { class: 'error' }, `Could not load that page: ${err.message}`)),
        );
    });
  };
  await show(0);
  root.replaceChildren(box);
}

function render(
  box: HTMLElement,
  report: Report,
  offset: number,
  yaml: () => Promise<string>,
  go: (offset: number) => void,
): void {
  const registry = report.registry;
  box.replaceChildren(
    h('h1', {}, 'Suggested ServiceEntries'),
    h(
      'div',
      { class: 'toolbar' },
      countNote(report.suggestions.length, report.total, 'suggestions'),
      copyButton(yaml, 'Copy all YAML', { id: 'copy-all' }),
      downloadButton(yaml),
    ),
    registry
      ? h(
          'div',
          { class: 'card', id: 'registry', style: 'margin-bottom:16px' },
          h('h2', {}, 'Already in the registry'),
          h(
            'p',
            {},
            `${registry.entries} entries; ${registry.covered.length} destination(s) already covered.`,
          ),
          registry.covered.length
            ? h(
                'ul',
                {},
                ...registry.covered.map((c) => h('li', {}, `${c.suggestion} — covered by ${c.entry}`)),
              )
            : null,
          registry.partiallyCovered.length
            ? h(
                'ul',
                {},
                ...registry.partiallyCovered.map((p) => h('li', {}, `${p.suggestion}: ${p.reason}`)),
              )
            : null,
          registry.unused.length
            ? h(
                'p',
                { class: 'muted' },
                `No traffic in the window: ${registry.unused.map((u) => `${u.namespace}/${u.name}`).join(', ')}`,
              )
            : null,
        )
      : h('p', { class: 'muted' }, 'No registry is configured: every suggestion is shown.'),
    report.suggestions.length === 0
      ? h('p', { class: 'empty' }, 'Nothing went through PassthroughCluster in this window.')
      : h(
          'div',
          { id: 'entries' },
          ...report.suggestions.map((s) =>
            h(
              'div',
              { class: 'card entry', 'data-name': s.name },
              h(
                'div',
                { class: 'toolbar' },
                h('h2', { style: 'margin:0' }, s.name),
                h('span', { class: 'muted' }, s.hosts.join(', ')),
                copyButton(() => s.yaml),
                h(
                  'button',
                  { class: 'secondary', type: 'button', onclick: () => download(`${s.name}.yaml`, s.yaml) },
                  'Download',
                ),
              ),
              s.warnings.length
                ? h('ul', { class: 'error' }, ...s.warnings.map((w) => h('li', {}, w)))
                : null,
              h('pre', { class: 'yaml' }, s.yaml),
            ),
          ),
        ),
    // Under the list only: a page of YAML cards is long, and the next page starts back at the top.
    ...(report.total > PAGE
      ? [pager({ offset, shown: report.suggestions.length, total: report.total, pageSize: PAGE }, go)]
      : []),
  );
}
