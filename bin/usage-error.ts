/** Bad command-line usage: printed with the command's usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose usage applies; the general usage when absent. */
  command?: string;
}

/** A user mistake or a state the user can fix (missing data dir, server unreachable): one line, exit 1. */
export class UserError extends Error {
  override name = 'UserError';
}
