/**
 * JavaScript strings may hold an unpaired UTF-16 surrogate (JSON.parse gives one for `"\ud800"`); UTF-8 cannot
 * encode it, and ClickHouse's JSON reader refuses the escape JSON.stringify writes for it
 * (CANNOT_PARSE_ESCAPE_SEQUENCE), failing the whole insert. Node 20 has the ES2024 methods; the project's
 * TypeScript lib is ES2023, hence the cast.
 */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** False when the string holds an unpaired UTF-16 surrogate. */
export const isWellFormed = (s: string): boolean => (s as unknown as WellFormed).isWellFormed();

/** Unpaired surrogates replaced by U+FFFD. */
export const toWellFormed = (s: string): string => (s as unknown as WellFormed).toWellFormed();
