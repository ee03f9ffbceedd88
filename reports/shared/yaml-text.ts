/**
 * Block YAML for plain JSON-like values (objects, arrays, strings, numbers, booleans, null), written directly
 * instead of through the `yaml` library's Document model, which builds and walks a node tree for each of up to
 * 1000 ServiceEntries a page. The output is what `yaml`'s `Document#toString({ lineWidth: 0 })` writes for
 * the same value with `version: '1.1'`, except that a few more strings are quoted (below):
 *
 * - a string is written plain only when `yaml` would write it plain AND no YAML 1.1 or 1.2 resolver reads it as
 *   anything else (`yes`, `on`, `1:20`, `0x1f`, `0o17`, `1e3`, `~`, a timestamp…: kubectl reads YAML 1.1,
 *   other tools 1.2); the tests come from the `yaml` library's own schemas, so the two cannot drift apart;
 * - otherwise it is double-quoted as JSON, which is valid YAML in both versions, with U+0085, U+2028 and U+2029
 *   escaped too (YAML 1.1 line breaks that a double-quoted scalar would fold) and no folding of long lines;
 * - comments come from the caller already free of line breaks and control characters (comment-text.ts).
 */
import { Document } from 'yaml';

/** Strings that `yaml` writes quoted: indicators at the start, `: ` / ` #`, trailing space or colon… */
const INDICATORS = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Control characters, unpaired surrogates and YAML 1.1 line breaks: always double-quoted and escaped. */
const SPECIAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u{D800}-\u{DFFF}]/u;
/** `---` or `...` at a line start, or `%` at the start: read as a document marker or directive. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** Every non-string scalar test of YAML 1.1 and 1.2 (core), from the `yaml` library's schemas. */
const NOT_A_STRING: RegExp[] = (['1.1', '1.2'] as const).flatMap((version) => {
  const schema = new Document(null, { version }).schema;
  return [...schema.tags, ...(schema.compat ?? [])]
    .filter((t) => t.default && t.tag !== 'tag:yaml.org,2002:str' && t.test)
    .map((t) => t.test!);
});

/** First characters of every text a resolver reads as a number, bool, null, timestamp or merge key. */
const MAYBE_NOT_A_STRING = /^[-+.0-9~<yYnNtTfFoO]/;

/** The scalar as YAML text (plain when safe, else double-quoted). */
export function yamlScalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : quote(String(value));
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (
    value === '' ||
    SPECIAL.test(value) ||
    INDICATORS.test(value) ||
    DOCUMENT_MARKER.test(value) ||
    (MAYBE_NOT_A_STRING.test(value) && NOT_A_STRING.some((re) => re.test(value)))
  )
    return quote(value);
  return value;
}

function quote(text: string): string {
  return JSON.stringify(text).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** `# line` per comment line (an empty line is a bare `#`), at `indent`. */
export function yamlComment(lines: readonly string[], indent = ''): string {
  return lines.map((l) => `${indent}#${l === '' ? '' : ` ${l}`}\n`).join('');
}

export type YamlValue =
  | string
  | number
  | boolean
  | null
  | YamlValue[]
  | { [key: string]: YamlValue | undefined };

export interface YamlTextOptions {
  /** Comment lines written before a key of a map, by the key's path (`spec.addresses`). */
  keyComments?: ReadonlyMap<string, readonly string[]>;
}

/** A map (the document's root) as block YAML: two-space indent, sequences indented under their key. */
export function yamlText(root: { [key: string]: YamlValue | undefined }, opts: YamlTextOptions = {}): string {
  const out: string[] = [];
  writeMap(root, '', '', opts, out);
  return out.join('');
}

function isMap(v: YamlValue | undefined): v is { [key: string]: YamlValue | undefined } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function writeMap(
  map: { [key: string]: YamlValue | undefined },
  indent: string,
  path: string,
  opts: YamlTextOptions,
  out: string[],
  firstPrefix?: string,
): void {
  let first = true;
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (value === undefined) continue;
    const keyPath = path === '' ? key : `${path}.${key}`;
    // The first pair of a map inside a sequence shares the `- ` line.
    const lead = first && firstPrefix !== undefined ? firstPrefix : indent;
    const comment = opts.keyComments?.get(keyPath);
    if (comment) out.push(yamlComment(comment, first && firstPrefix !== undefined ? '' : indent));
    first = false;
    const k = yamlScalar(key);
    writeValue(value, `${lead}${k}:`, indent, keyPath, opts, out);
  }
  if (first && firstPrefix !== undefined) out.push(`${firstPrefix}{}\n`);
}

/** `head` is the text before the value on its line (`  key:` or `  -`). */
function writeValue(
  value: YamlValue,
  head: string,
  indent: string,
  path: string,
  opts: YamlTextOptions,
  out: string[],
): void {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(`${head} []\n`);
      return;
    }
    out.push(`${head}\n`);
    const inner = `${indent}  `;
    for (const item of value) writeItem(item, inner, path, opts, out);
    return;
  }
  if (isMap(value)) {
    if (Object.values(value).every((v) => v === undefined)) {
      out.push(`${head} {}\n`);
      return;
    }
    out.push(`${head}\n`);
    writeMap(value, `${indent}  `, path, opts, out);
    return;
  }
  out.push(`${head} ${yamlScalar(value)}\n`);
}

function writeItem(
  item: YamlValue,
  indent: string,
  path: string,
  opts: YamlTextOptions,
  out: string[],
): void {
  if (isMap(item) && Object.values(item).some((v) => v !== undefined)) {
    writeMap(item, `${indent}  `, path, opts, out, `${indent}- `);
    return;
  }
  if (Array.isArray(item) && item.length > 0) {
    out.push(`${indent}-\n`);
    for (const inner of item) writeItem(inner, `${indent}  `, path, opts, out);
    return;
  }
  writeValue(item, `${indent}-`, indent, path, opts, out);
}
