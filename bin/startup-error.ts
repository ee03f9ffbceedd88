/**
 * Why `serve` could not start, as one line that says what to do: the port, the address, the data directory
 * or the configuration, never a stack trace (the stack is logged at debug level).
 */
import { resolve } from 'node:path';
import { findServer } from './server-advert.js';

export class StartupError extends Error {
  override name = 'StartupError';
}

const SELF_EXPLAINED = new Set(['ConfigError', 'RegistryError', 'StoreConfigError', 'JournalError']);

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
}

export function describeStartupError(
  err: unknown,
  where: { host: string; port: number; data: string },
): string {
  const e = err as SystemError;
  const address = `${where.host}:${where.port}`;
  const data = resolve(where.data);
  if (e.name === 'StoreLockedError') {
    const holder = findServer(where.data);
    return holder
      ? `the data directory ${data} is held by egresslens serve (pid ${holder.pid}, ${holder.url}): stop it, or choose another --data`
      : `the data directory ${data} is held by another process (chDB allows one per directory): stop it, or choose another --data`;
  }
  if (e.syscall === 'listen' || e.syscall === 'bind') {
    switch (e.code) {
      case 'EADDRINUSE':
        return `cannot listen on ${address}: the port is already in use: stop what holds it, or choose another --port`;
      case 'EADDRNOTAVAIL':
        return `cannot listen on ${address}: no interface of this machine has that address: use one of its addresses, 127.0.0.1 or 0.0.0.0`;
      case 'EACCES':
      case 'EPERM':
        return `cannot listen on ${address}: permission denied (ports below 1024 need privileges): choose another --port`;
    }
  }
  if (e.syscall === 'getaddrinfo') {
    return `cannot listen on ${address}: the host name ${where.host} does not resolve: use an IP address or a name this machine knows`;
  }
  if (e.code === 'EEXIST' && e.syscall === 'mkdir') {
    return `the data directory ${data} is a file, not a directory: choose another --data`;
  }
  if (e.code === 'ENOTDIR') {
    return `the data directory ${data} cannot be created: a part of its path is a file: choose another --data`;
  }
  if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') {
    return `the data directory ${data} is not writable (${e.code}${e.path ? ` on ${e.path}` : ''}): fix its permissions, or choose another --data`;
  }
  const message = firstLine(e.message ?? String(err));
  // Configuration, registry and store-server errors already say what is wrong.
  return SELF_EXPLAINED.has(e.name) ? message : `cannot start: ${message}`;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim().slice(0, 500);
}
