/** The --format spec, compiled once before any store is opened: a typo is one line, as `parse` says it. */
import { compile } from '../parser/index.js';
import { UserError } from './usage-error.js';

export function checkFormat(format: string): void {
  try {
    compile(format);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}
