/** The window and namespace every view is filtered by, kept in the header form. */
export interface Filters {
  since: string;
  namespace?: string;
}

export function readFilters(form: HTMLFormElement): Filters {
  const data = new FormData(form);
  const namespace = String(data.get('namespace') ?? '').trim();
  return { since: String(data.get('since') ?? '24h'), namespace: namespace || undefined };
}
