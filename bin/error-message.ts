/** How an error that ends a command is told to the user: one line for anything the user can act on. */

/** Errors whose message is already the one line to print, with the exit code each means. */
const USER_FACING: Record<string, number> = {
  UsageError: 2,
  ConfigError: 2,
  StoreConfigError: 2,
  WindowError: 2,
  UserError: 1,
  StoreLockedError: 1,
  // serve could not start (port, address, data directory, store): one line that already says what to do.
  StartupError: 1,
};

export function exitCodeOf(err: unknown): number {
  return USER_FACING[(err as Error)?.name] ?? 1;
}

export function describeError(err: unknown): string {
  const e = err as Error & { code?: string; path?: string; syscall?: string };
  if (e?.name === 'WindowError') return `--${e.message}`;
  if (e?.name && e.name in USER_FACING) return e.message;
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR' || e?.code === 'ENOTDIR') {
    return `cannot read ${e.path ?? 'the input'}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`;
  }
  // Anything else is a bug or an outage the message alone does not explain: keep the stack.
  return e?.stack ?? String(err);
}
