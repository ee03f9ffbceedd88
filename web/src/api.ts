/** Talks to the egresslens API with the read token the user gave (kept for this browser tab only). */

const TOKEN_KEY = 'egresslens.token';

export class AuthRequired extends Error {}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function hasToken(): boolean {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

function headers(): HeadersInit {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function request(path: string, params: Record<string, string | number | undefined>): Promise<Response> {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  const res = await fetch(url, { headers: headers() });
  if (res.status === 401 || res.status === 403) throw new AuthRequired(await errorText(res));
  if (!res.ok) throw new Error(await errorText(res));
  return res;
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: string };
    return body.error ?? `${res.status} ${res.statusText}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

export async function getJson<T>(
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<T> {
  return (await request(path, params)).json() as Promise<T>;
}

export async function getText(
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<string> {
  return (await request(path, params)).text();
}

/** Checks a token before keeping it: a cheap read route answers 200 only for a token with the read role. */
export async function tryToken(token: string): Promise<boolean> {
  const res = await fetch('/v1/hosts?limit=1&since=1h', { headers: { Authorization: `Bearer ${token}` } });
  return res.ok;
}
