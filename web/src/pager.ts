/**
 * The "‹ previous · 51–100 of 1,100 · next ›" bar under a paged list. The views ask the API for one page
 * (`limit`, `offset`) and get its `total`, so the browser never holds, nor draws, more than a page.
 */
import { fmt, h } from './dom.js';

export interface PagerState {
  /** Index of the page's first item in the whole list. */
  offset: number;
  /** Items on this page. */
  shown: number;
  /** Items in the whole list. */
  total: number;
  /** Items a page holds. */
  pageSize: number;
}

export function pager(p: PagerState, go: (offset: number) => void): HTMLElement {
  const last = p.offset + p.shown;
  return h(
    'div',
    { class: 'pager' },
    h(
      'button',
      {
        class: 'secondary',
        type: 'button',
        disabled: p.offset === 0,
        onclick: () => go(Math.max(0, p.offset - p.pageSize)),
      },
      '‹ previous',
    ),
    h(
      'span',
      { class: 'muted' },
      p.total === 0 ? '0' : `${fmt.format(p.offset + 1)}–${fmt.format(last)} of ${fmt.format(p.total)}`,
    ),
    h(
      'button',
      {
        class: 'secondary',
        type: 'button',
        disabled: last >= p.total,
        onclick: () => go(p.offset + p.pageSize),
      },
      'next ›',
    ),
  );
}
