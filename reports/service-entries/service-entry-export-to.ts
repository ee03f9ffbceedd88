/**
 * `--export-to` / `exportTo`: the `spec.exportTo` of suggested ServiceEntries, checked by Istio's rules
 * (istio.io/istio pkg/config/validation, validateExportTo for a ServiceEntry): each item is `.` (the entry's own
 * namespace), `*` (every namespace), `~` (no namespace) or a namespace name (a DNS-1123 label); no duplicates
 * (`.` counts as the entry's namespace); `*` and `~` only alone.
 */
import { isDns1123Label } from './service-entry-name.js';

export const MAX_EXPORT_TO = 100;

/** The problem with `items` as an exportTo list (one line), or undefined when Istio accepts it. */
export function exportToProblem(items: readonly string[], entryNamespace?: string): string | undefined {
  if (items.length === 0) return 'exportTo is empty';
  if (items.length > MAX_EXPORT_TO) return `exportTo has more than ${MAX_EXPORT_TO} items`;
  const seen = new Set<string>();
  for (const item of items) {
    if (item !== '.' && item !== '*' && item !== '~' && !isDns1123Label(item))
      return `exportTo item "${item}" is not ".", "*", "~" or a namespace name`;
    const key = item === '.' && entryNamespace ? entryNamespace : item;
    if (seen.has(key)) return `exportTo lists "${item}" twice`;
    seen.add(key);
  }
  if (items.length > 1 && items.includes('*')) return 'exportTo "*" (every namespace) must be alone';
  if (items.length > 1 && items.includes('~')) return 'exportTo "~" (no namespace) must be alone';
  return undefined;
}

/** `a, b ,.` → `['a', 'b', '.']`; throws with a one-line message when Istio would reject the list. */
export function parseExportTo(text: string, entryNamespace?: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const problem = exportToProblem(items, entryNamespace);
  if (problem) throw new Error(problem);
  return items;
}
