/** Hosts: every external destination, searchable, filtered by state and port, paged with the API's totals. */
import { getJson } from '../api.js';
import { countNote, fmt, h, stateBadge, table } from '../dom.js';
import type { Filters } from '../filters.js';
import { pager } from '../pager.js';

interface HostRow {
  host: string;
  port: number;
  status: string;
  requests: number;
  namespaces: string[];
  lastSeen: string;
}
interface HostsAnswer {
  hosts: HostRow[];
  total: number;
  truncated: boolean;
}

const PAGE = 50;

export async function hostsView(root: HTMLElement, filters: Filters): Promise<void> {
  const state = { search: '', status: '', port: '', offset: 0 };
  const results = h('div', { id: 'hosts-results' });
  const search = h('input', { type: 'search', name: 'search', placeholder: 'search hosts', size: 28 });
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'any state'),
    h('option', { value: 'passthrough' }, 'passthrough'),
    h('option', { value: 'blocked' }, 'blocked'),
    h('option', { value: 'allowed' }, 'allowed'),
  );
  const port = h('input', {
    type: 'number',
    name: 'port',
    placeholder: 'port',
    min: 1,
    max: 65535,
    style: 'width:90px',
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.search = search.value.trim();
      state.status = status.value;
      state.port = port.value;
      state.offset = 0;
      void load();
    }, 200);
  };
  search.addEventListener('input', refresh);
  status.addEventListener('change', refresh);
  port.addEventListener('input', refresh);

  async function load(): Promise<void> {
    const r = await getJson<HostsAnswer>('/v1/hosts', {
      ...filters,
      format: 'json',
      limit: PAGE,
      offset: state.offset,
      search: state.search,
      status: state.status,
      port: state.port,
    });
    results.replaceChildren(
      countNote(r.hosts.length, r.total, 'destinations'),
      r.hosts.length === 0
        ? h('p', { class: 'empty' }, 'No destinations match.')
        : table(
            ['host', ['port', 'num'], 'state', ['requests', 'num'], 'namespaces', 'last seen'],
            r.hosts.map((x) => [
              x.host,
              x.port,
              stateBadge(x.status),
              fmt.format(x.requests),
              x.namespaces.join(', '),
              x.lastSeen.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
            ]),
          ),
      pager({ offset: state.offset, shown: r.hosts.length, total: r.total, pageSize: PAGE }, (offset) => {
        state.offset = offset;
        void load();
      }),
    );
  }

  root.replaceChildren(
    h('h1', {}, 'External hosts'),
    h('div', { class: 'toolbar' }, search, status, port),
    results,
  );
  await load();
}
