/** The console: a hash router over four views, the header filters, and the sign-in dialog. */
import 'uplot/dist/uPlot.min.css';
import '../console.css';
import { AuthRequired, hasToken, setToken, tryToken } from './api.js';
import { h } from './dom.js';
import { type Filters, readFilters } from './filters.js';
import { hostsView } from './views/hosts.js';
import { overviewView } from './views/overview.js';
import { readinessView } from './views/readiness.js';
import { serviceEntriesView } from './views/service-entries.js';

const VIEWS: Record<string, (root: HTMLElement, f: Filters) => Promise<void>> = {
  overview: overviewView,
  hosts: hostsView,
  'service-entries': serviceEntriesView,
  readiness: readinessView,
};

const root = document.getElementById('view')!;
const filterForm = document.getElementById('filters') as HTMLFormElement;
const login = document.getElementById('login') as HTMLDialogElement;
const loginForm = document.getElementById('login-form') as HTMLFormElement;
const loginError = document.getElementById('login-error')!;

function currentView(): string {
  const name = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return name in VIEWS ? name : 'overview';
}

async function render(): Promise<void> {
  const name = currentView();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    a.classList.toggle('active', a.dataset['view'] === name);
  root.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  root.dataset['view'] = name;
  root.dataset['state'] = 'loading';
  try {
    await VIEWS[name]!(root, readFilters(filterForm));
    root.dataset['state'] = 'ready';
    // Time from navigation to the view's data on screen, for the benchmark (and any RUM tool) to read.
    performance.mark('egresslens:view-ready', { detail: name });
  } catch (err) {
    if (err instanceof AuthRequired) {
      root.replaceChildren(h('p', { class: 'muted' }, 'Sign in to see this egresslens.'));
      root.dataset['state'] = 'signed-out';
      if (!login.open) login.showModal();
      return;
    }
    root.replaceChildren(h('p', { class: 'error' }, `Could not load: ${(err as Error).message}`));
    root.dataset['state'] = 'error';
  }
}

loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = String(new FormData(loginForm).get('token') ?? '');
  if (!(await tryToken(token))) {
    loginError.textContent = 'That token was refused: use the read token.';
    loginError.hidden = false;
    return;
  }
  loginError.hidden = true;
  setToken(token);
  login.close();
  await render();
});

filterForm.addEventListener('change', () => void render());
filterForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void render();
});
window.addEventListener('hashchange', () => void render());

/** Asks for a token first when the server wants one and none is kept, instead of failing a request. */
async function start(): Promise<void> {
  const health = (await (await fetch('/healthz')).json()) as { auth?: string };
  if (health.auth === 'bearer' && !hasToken()) {
    root.replaceChildren(h('p', { class: 'muted' }, 'Sign in to see this egresslens.'));
    root.dataset['state'] = 'signed-out';
    login.showModal();
    return;
  }
  await render();
}
void start();
