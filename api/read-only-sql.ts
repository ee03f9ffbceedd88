/**
 * User SQL for POST /v1/query. The engine's readonly=1 is the guarantee (see Store.queryReadOnly); this
 * check only turns the obvious cases into a clear 400 before they reach it.
 */
const READ_STATEMENTS = /^(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;

export function checkReadOnlySql(sql: string): string | null {
  const text = stripComments(sql).trim().replace(/;\s*$/, '');
  if (!text) return 'the query is empty';
  if (text.includes(';')) return 'one statement per request';
  if (!READ_STATEMENTS.test(text)) {
    return 'only read queries are allowed (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, EXISTS)';
  }
  if (/\bINTO\s+OUTFILE\b/i.test(text)) return 'INTO OUTFILE is not allowed';
  return null;
}

/** Removes comments outside of string literals, so `SELECT 1 -- ;` is not mistaken for two statements. */
function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      out += sql.slice(i, j + 1).replace(/;/g, ' ');
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
