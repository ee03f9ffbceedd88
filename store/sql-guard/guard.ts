/**
 * The gate for user SQL (POST /v1/query), shared by both stores: the engine's own parser decides what the text
 * is, check-ast.ts decides whether it may run, and only the engine's canonical text of what was checked runs.
 *
 * 1. `formatQuery({sql:String})`: the user's text travels as a bound value, never as SQL. The engine parses it as
 *    exactly one statement (several are a syntax error) under the checking session's max_query_size and
 *    max_parser_depth, and prints it back canonically. Formatting that canonical text again must give the same
 *    text, so what is checked below is what runs. The same query reads the current database and its tables.
 * 2. `EXPLAIN AST <canonical>`: parses again and prints the tree without running or analysing anything (no table
 *    or schema is looked up, so no file or URL is touched), under max_ast_depth, max_ast_elements and a short
 *    max_execution_time. chDB runs every statement of a text, which is why step 1 must prove there is one.
 * 3. The tree is judged (check-ast.ts); a refusal is a QueryRefusedError with a rule code and a one-line reason.
 * 4. Only when the query reads a bare name that is not a table of ours: `EXPLAIN QUERY TREE run_passes = 0`, also
 *    without analysis, shows the WITH names the AST does not, and each such name must be a WITH query in scope
 *    (query-tree.ts).
 */
import { MIGRATIONS } from '../schema.js';
import { AstDumpError, parseAstDump } from './ast-dump.js';
import { checkAst } from './check-ast.js';
import { QueryRefusedError, UserQueryError } from './errors.js';
import { checkQueryTree, QueryTreeError } from './query-tree.js';

export interface SqlExplainer {
  /** Runs PREPARE_SQL with `sql` bound as {sql:String}, on a session under the checking limits. */
  prepare(sql: string): Promise<PreparedSql>;
  /** Runs `EXPLAIN AST <canonical>` there and returns the dump, one node per line. */
  explainAst(canonical: string): Promise<string>;
  /** Runs `EXPLAIN QUERY TREE run_passes = 0 <canonical>` there (query-tree.ts). */
  explainQueryTree(canonical: string): Promise<string>;
}

export interface PreparedSql {
  canonical: string;
  stable: boolean | number;
  database: string;
  tables: string[];
}

export const PREPARE_SQL = `SELECT
  formatQuery({sql:String}) AS canonical,
  formatQuery(canonical) = canonical AS stable,
  currentDatabase() AS database,
  (SELECT groupArray(name) FROM system.tables WHERE database = currentDatabase()) AS tables`;

/** Settings for the session that parses user SQL: the parse itself is bounded. */
export const CHECK_SETTINGS = {
  readonly: 1,
  max_query_size: 1 << 20,
  max_parser_depth: 300,
  max_ast_depth: 300,
  max_ast_elements: 50_000,
  max_execution_time: 5,
  max_memory_usage: 256 << 20,
} as const;

/** Parser limits that also hold when the checked query runs. */
export const RUN_AST_SETTINGS = {
  max_query_size: CHECK_SETTINGS.max_query_size,
  max_parser_depth: CHECK_SETTINGS.max_parser_depth,
  max_ast_depth: CHECK_SETTINGS.max_ast_depth,
  max_ast_elements: CHECK_SETTINGS.max_ast_elements,
} as const;

/** The tables and views egresslens's migrations create: the only sources user SQL may read. */
export const QUERYABLE_TABLES: ReadonlySet<string> = new Set(
  MIGRATIONS.flatMap((m) => m.statements({}))
    .map(
      (sql) => /^\s*CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+IF\s+NOT\s+EXISTS\s+(\w+)/i.exec(sql)?.[1],
    )
    .filter((name): name is string => name !== undefined),
);

/** 164 READONLY: the checking session refused to apply a top-level SETTINGS clause while explaining it. */
const READONLY_CODE = 164;

/** Returns the canonical text to run, or throws QueryRefusedError / UserQueryError. */
export async function checkUserSql(sql: string, explainer: SqlExplainer): Promise<string> {
  if (sql.trim() === '') throw new UserQueryError('the query is empty', undefined);
  const prepared = await explainer.prepare(sql);
  if (!prepared.stable || prepared.canonical.trim() === '') {
    throw new QueryRefusedError(
      'unverifiable',
      'the query could not be checked (the engine does not print it back the same way); simplify it',
    );
  }
  let dump: string;
  try {
    dump = await explainer.explainAst(prepared.canonical);
  } catch (err) {
    if (err instanceof UserQueryError && err.engineCode === READONLY_CODE) {
      throw new QueryRefusedError('settings', 'SETTINGS clauses are not allowed');
    }
    throw err;
  }
  let tree: ReturnType<typeof parseAstDump>;
  try {
    tree = parseAstDump(dump);
  } catch (err) {
    if (err instanceof AstDumpError) {
      throw new QueryRefusedError('unverifiable', `the query could not be checked: ${err.message}`);
    }
    throw err;
  }
  const verdict = checkAst(tree, {
    database: prepared.database,
    existing: new Set(prepared.tables),
    allowed: QUERYABLE_TABLES,
  });
  if (!verdict.ok) throw new QueryRefusedError(verdict.code, verdict.reason);
  const findings = verdict.findings!;
  if (findings.withNames.length > 0) {
    // Bare names that are not tables here: each must be a WITH query in scope where it is read.
    let unresolved: string | undefined;
    try {
      const tree = await explainer.explainQueryTree(prepared.canonical);
      unresolved = checkQueryTree(tree, QUERYABLE_TABLES, findings.tableReferences).unresolved;
    } catch (err) {
      if (err instanceof QueryTreeError) {
        throw new QueryRefusedError('unverifiable', `the query could not be checked: ${err.message}`);
      }
      if (err instanceof UserQueryError) {
        // A server without the analyzer (before 24.3 unless enabled) has no query tree to show.
        throw new QueryRefusedError(
          'unverifiable',
          `the WITH queries could not be checked (${err.message}); read access_log, dead_letters or report_runs directly`,
        );
      }
      throw err;
    }
    if (unresolved !== undefined) {
      throw new QueryRefusedError(
        'table-not-allowed',
        `table ${unresolved} is not allowed: queries may read only ${[...QUERYABLE_TABLES].sort().join(', ')} ` +
          'and their own WITH queries',
      );
    }
  }
  return prepared.canonical;
}
