/**
 * The rules for user SQL, applied to the engine's own syntax tree (see ast-dump.ts): exactly one SELECT (with
 * WITH, UNION/INTERSECT/EXCEPT, subqueries, JOINs, ARRAY JOIN, window functions, lambdas); table sources only
 * egresslens's own tables; functions only from the generated allow-list; no table functions, no INTO OUTFILE, no
 * FORMAT, no SETTINGS anywhere. Node types the rules do not know are refused, so a new engine feature is closed
 * until someone reviews it.
 */

import {
  AGGREGATE_COMBINATORS,
  ALLOWED_AGGREGATES,
  ALLOWED_CASE_INSENSITIVE,
  ALLOWED_FUNCTIONS,
} from './allowed-functions.js';
import type { AstNode } from './ast-dump.js';
import type { RefusalCode } from './errors.js';

export interface TableScope {
  /** The engine's current database (unqualified names resolve there). */
  database: string;
  /** Every table and view in that database right now (system.tables). */
  existing: ReadonlySet<string>;
  /** The ones user SQL may read. */
  allowed: ReadonlySet<string>;
}

export type Verdict = { ok: true } | { ok: false; code: RefusalCode; reason: string };

/** What the AST rules leave to the query tree (query-tree.ts): bare names that must be WITH queries. */
export interface AstFindings {
  /** Table references (FROM/JOIN names and `x IN name`) in the tree. */
  tableReferences: number;
  /** Bare names that are neither egresslens tables nor tables of the database: WITH queries, or refused. */
  withNames: string[];
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const FUNCTIONS = new Set(ALLOWED_FUNCTIONS);
const CASE_INSENSITIVE = new Set(ALLOWED_CASE_INSENSITIVE);
const AGGREGATES = new Set(ALLOWED_AGGREGATES);
const AGGREGATES_ANY_CASE = new Set(
  ALLOWED_AGGREGATES.map((a) => a.toLowerCase()).filter((a) => CASE_INSENSITIVE.has(a)),
);
/** Longest first, so `MergeState` is tried before `State`. */
const COMBINATORS = [...AGGREGATE_COMBINATORS].sort((a, b) => b.length - a.length);

/** Structure-only nodes: what they hold is judged through their children. */
const PLAIN_NODES = new Set([
  'SelectIntersectExceptQuery',
  'SelectQuery',
  'ExpressionList',
  'TablesInSelectQuery',
  'TablesInSelectQueryElement',
  'TableExpression',
  'TableJoin',
  'ArrayJoin',
  'Subquery',
  'WithElement',
  'Identifier',
  'Literal',
  'Asterisk',
  'QualifiedAsterisk',
  'ColumnsRegexpMatcher',
  'ColumnsListMatcher',
  'QualifiedColumnsRegexpMatcher',
  'QualifiedColumnsListMatcher',
  'ColumnsTransformerList',
  'ColumnsExceptTransformer',
  'ColumnsReplaceTransformer',
  'ColumnsReplaceTransformer::Replacement',
  'OrderByElement',
  'InterpolateElement',
  'WindowDefinition',
  'WindowListElement',
  'SampleRatio',
]);

/** `x IN t` with a bare name on the right reads table t. */
const IN_FUNCTIONS = new Set([
  'in',
  'notIn',
  'globalIn',
  'globalNotIn',
  'nullIn',
  'notNullIn',
  'globalNullIn',
  'globalNotNullIn',
]);

class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export function isAllowedFunction(name: string): boolean {
  if (name === 'lambda') return true; // x -> expr; its body is checked like any other expression
  if (FUNCTIONS.has(name) || CASE_INSENSITIVE.has(name.toLowerCase())) return true;
  return isCombinedAggregate(name, 0);
}

/** sumIf, uniqMergeState, countDistinctIf …: an allowed aggregate followed by combinator suffixes. */
function isCombinedAggregate(name: string, depth: number): boolean {
  if (depth > 0 && (AGGREGATES.has(name) || AGGREGATES_ANY_CASE.has(name.toLowerCase()))) return true;
  if (depth >= 6) return false;
  for (const suffix of COMBINATORS) {
    if (name.length > suffix.length && name.endsWith(suffix)) {
      if (isCombinedAggregate(name.slice(0, -suffix.length), depth + 1)) return true;
    }
  }
  return false;
}

/**
 * The table rule for a name from `FROM name`, `JOIN name` or `x IN name`: `withName` when the name can only be a
 * WITH query (query-tree.ts must then prove one is in scope).
 */
export function checkTableName(name: string, scope: TableScope): Verdict & { withName?: boolean } {
  const allowedList = [...scope.allowed].sort().join(', ');
  const refuse = { ok: false as const, code: 'table-not-allowed' as const };
  const parts = name.split('.');
  if (parts.length === 1) {
    if (scope.allowed.has(name)) return { ok: true };
    // Plain names only: chDB's default database maps any other name to a file or URL.
    if (PLAIN.test(name) && !scope.existing.has(name)) return { ok: true, withName: true };
  } else if (parts.length === 2 && parts[0] === scope.database && scope.allowed.has(parts[1]!)) {
    return { ok: true };
  }
  return { ...refuse, reason: `table ${name} is not allowed: queries may read only ${allowedList}` };
}

/** Judges a parsed EXPLAIN AST tree. */
export function checkAst(root: AstNode, scope: TableScope): Verdict & { findings?: AstFindings } {
  const findings: AstFindings = { tableReferences: 0, withNames: [] };
  try {
    if (root.type !== 'SelectWithUnionQuery') {
      throw new Refusal(
        'not-a-select',
        `only one SELECT query is allowed, not ${root.type === 'Explain' ? 'EXPLAIN' : describe(root)}`,
      );
    }
    walk(root, undefined, scope, findings);
    return { ok: true, findings };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, code: err.code, reason: err.reason };
    throw err;
  }
}

function describe(node: AstNode): string {
  return node.type
    .replace(/Query$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function walk(node: AstNode, parent: AstNode | undefined, scope: TableScope, found: AstFindings): void {
  switch (node.type) {
    case 'SelectWithUnionQuery':
      // Its only child is the list of SELECTs; anything more is INTO OUTFILE, COMPRESSION, FORMAT or SETTINGS.
      if (node.children.length !== 1 || node.children[0]!.type !== 'ExpressionList') {
        throw new Refusal('output-clause', 'INTO OUTFILE, FORMAT and SETTINGS clauses are not allowed');
      }
      break;
    case 'Set':
      throw new Refusal('settings', 'SETTINGS clauses are not allowed');
    case 'Function': {
      const name = node.detail;
      if (parent?.type === 'TableExpression') {
        throw new Refusal(
          'table-function',
          `table function ${name}() is not allowed: queries may read only ${[...scope.allowed].sort().join(', ')}`,
        );
      }
      if (!isAllowedFunction(name)) {
        throw new Refusal('function-not-allowed', `function ${name}() is not allowed`);
      }
      if (IN_FUNCTIONS.has(name)) {
        const right = node.children[0]?.children[1];
        if (right?.type === 'Identifier') tableReference(right, scope, found);
      }
      break;
    }
    case 'TableIdentifier':
      tableReference(node, scope, found);
      break;
    case 'Identifier':
      if (parent?.type === 'TableExpression') tableReference(node, scope, found);
      break;
    case 'ColumnsApplyTransformer':
      // The dump does not show which function APPLY calls.
      throw new Refusal('construct-not-allowed', 'APPLY column transformers are not allowed');
    case 'Explain':
      throw new Refusal('not-a-select', 'EXPLAIN is not allowed');
    default:
      if (!PLAIN_NODES.has(node.type)) {
        throw new Refusal('construct-not-allowed', `${node.type} is not allowed in queries`);
      }
  }
  for (const child of node.children) walk(child, node, scope, found);
}

/**
 * A name read as a table. It must be a leaf with a plain alias: a name or alias with a line break would have
 * printed extra lines, which can only have become its children (ast-dump.ts).
 */
function tableReference(node: AstNode, scope: TableScope, found: AstFindings): void {
  if (node.children.length > 0 || (node.alias !== undefined && !PLAIN.test(node.alias))) {
    throw new Refusal('table-not-allowed', 'table names and their aliases must be plain names');
  }
  const v = checkTableName(node.detail, scope);
  if (!v.ok) throw new Refusal(v.code, v.reason);
  found.tableReferences++;
  if (v.withName) found.withNames.push(node.detail);
}
