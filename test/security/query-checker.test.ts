/**
 * The query checker's parts: reading the engine's EXPLAIN AST and EXPLAIN QUERY TREE text (including text forged
 * through names with line breaks), the AST rules, and the generated function allow-list. Dumps come from the real
 * engine (a chDB session in a temp directory), so a change in the engine's output format shows up here.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainPending, Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_FUNCTIONS } from '../../store/sql-guard/allowed-functions.js';
import { AstDumpError, parseAstDump } from '../../store/sql-guard/ast-dump.js';
import {
  checkAst,
  checkTableName,
  isAllowedFunction,
  type TableScope,
} from '../../store/sql-guard/check-ast.js';
import { QUERYABLE_TABLES } from '../../store/sql-guard/guard.js';
import { checkQueryTree, QueryTreeError } from '../../store/sql-guard/query-tree.js';

let session: Session;
const scope: TableScope = {
  database: 'default',
  existing: new Set(['access_log', 'dead_letters', 'report_runs', 'schema_migrations']),
  allowed: QUERYABLE_TABLES,
};

beforeAll(() => {
  session = new Session(mkdtempSync(join(tmpdir(), 'egresslens-checker-')), {
    connectionArgs: ['--readonly=1'],
  });
});
afterAll(async () => {
  session.close();
  await drainPending();
});

const ast = (sql: string) => session.query(`EXPLAIN AST ${sql}`, 'TSVRaw');
const tree = (sql: string) => session.query(`EXPLAIN QUERY TREE run_passes = 0 ${sql}`, 'TSVRaw');
const verdict = (sql: string) => checkAst(parseAstDump(ast(sql)), scope);

describe('parseAstDump', () => {
  it('reads a dump into a tree with types, names, aliases and children', () => {
    const root = parseAstDump(ast('SELECT lower(path) AS p FROM access_log AS l WHERE 1 IN (SELECT 1)'));
    expect(root.type).toBe('SelectWithUnionQuery');
    const select = root.children[0]!.children[0]!;
    expect(select.type).toBe('SelectQuery');
    const fn = select.children[0]!.children[0]!;
    expect(fn).toMatchObject({ type: 'Function', detail: 'lower', alias: 'p' });
    const table = select.children[1]!.children[0]!.children[0]!.children[0]!;
    expect(table).toMatchObject({ type: 'TableIdentifier', detail: 'access_log', alias: 'l' });
  });

  it('refuses lines forged through a name with a line break', () => {
    // The alias adds a line; the counts no longer match.
    expect(() => parseAstDump(ast('SELECT 1 AS `a\n    Function file (children 1)`'))).toThrow(AstDumpError);
    expect(() => parseAstDump(ast('SELECT `x\ny` FROM access_log'))).toThrow(AstDumpError);
  });

  it('refuses counts that do not match, a second root, a skipped level and stray text', () => {
    expect(() => parseAstDump('SelectWithUnionQuery (children 2)\n ExpressionList\n')).toThrow(/declares 2/);
    expect(() => parseAstDump('Literal UInt64_1\nLiteral UInt64_2\n')).toThrow(/more than one root/);
    expect(() => parseAstDump('SelectWithUnionQuery (children 1)\n  ExpressionList\n')).toThrow(
      /skips a level/,
    );
    expect(() => parseAstDump('SelectWithUnionQuery (children 1)\n 2\n')).toThrow(/unexpected line/);
    expect(() => parseAstDump('')).toThrow(/no syntax tree/);
  });
});

describe('checkAst', () => {
  it('accepts reads of egresslens tables with lambdas, CTEs, unions, joins, window functions', () => {
    for (const sql of [
      'SELECT count() FROM access_log',
      'SELECT dst_host, countIf(response_code >= 500), quantileExact(0.9)(duration) FROM access_log GROUP BY dst_host',
      'SELECT arrayMap(x -> x * 2, [1, 2]), arrayFilter((x, y) -> x > y, [1], [0])',
      'WITH c AS (SELECT 1 AS a) SELECT * FROM c UNION ALL SELECT 2 EXCEPT SELECT 3',
      'SELECT * FROM access_log AS a JOIN dead_letters AS d ON a.source = d.source ARRAY JOIN [1] AS x',
      'SELECT row_number() OVER (PARTITION BY dst_host ORDER BY start_time) FROM default.access_log',
      "SELECT CASE response_code WHEN 200 THEN 'ok' ELSE 'no' END, x::String, -1 FROM report_runs",
      "SELECT * EXCEPT (raw) REPLACE (lower(path) AS path), COLUMNS('^k8s') FROM access_log",
    ]) {
      expect(verdict(sql), sql).toMatchObject({ ok: true });
    }
  });

  it('refuses each construct with its rule', () => {
    const cases: Array<[string, string]> = [
      ["SELECT file('/etc/passwd')", 'function-not-allowed'],
      ["SELECT arrayMap(x -> file(x), ['/etc/passwd'])", 'function-not-allowed'],
      ["SELECT * FROM url('http://x/', 'CSV')", 'table-function'],
      ['SELECT * FROM numbers(3)', 'table-function'],
      ['SELECT * FROM system.tables', 'table-not-allowed'],
      ['SELECT 1 IN system.users', 'table-not-allowed'],
      ['SELECT * FROM schema_migrations', 'table-not-allowed'],
      ["SELECT * FROM '/etc/passwd'", 'table-not-allowed'],
      ["SELECT 1 INTO OUTFILE '/tmp/x'", 'output-clause'],
      ['SELECT 1 FORMAT CSV', 'output-clause'],
      ['SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)', 'settings'],
      ['SELECT * APPLY(toString) FROM access_log', 'construct-not-allowed'],
      ['EXPLAIN SELECT 1', 'not-a-select'],
      ["DESCRIBE url('http://x/', 'CSV')", 'not-a-select'],
      ['SHOW TABLES', 'not-a-select'],
      ['INSERT INTO access_log (path) VALUES (1)', 'not-a-select'],
    ];
    for (const [sql, code] of cases) expect(verdict(sql), sql).toMatchObject({ ok: false, code });
  });

  it('leaves bare unknown names to the WITH proof, and counts table references', () => {
    const v = verdict('WITH c AS (SELECT 1) SELECT * FROM c JOIN access_log ON 1 WHERE 1 IN c');
    expect(v).toMatchObject({ ok: true, findings: { tableReferences: 3, withNames: ['c', 'c'] } });
  });

  it('judges table names', () => {
    expect(checkTableName('access_log', scope)).toEqual({ ok: true });
    expect(checkTableName('default.dead_letters', scope)).toEqual({ ok: true });
    expect(checkTableName('other.access_log', scope).ok).toBe(false);
    expect(checkTableName('schema_migrations', scope).ok).toBe(false);
    expect(checkTableName('INFORMATION_SCHEMA.TABLES', scope).ok).toBe(false);
    expect(checkTableName('my_cte', scope)).toEqual({ ok: true, withName: true });
    expect(checkTableName('/etc/passwd', scope).ok).toBe(false);
    expect(checkTableName('http://127.0.0.1/x', scope).ok).toBe(false);
  });
});

describe('checkQueryTree', () => {
  it('finds WITH queries in scope, in unions, subqueries and IN', () => {
    const sql =
      'WITH c AS (SELECT 1 AS a) SELECT * FROM access_log AS l, c WHERE 1 IN c UNION ALL SELECT 1 FROM (SELECT * FROM c)';
    expect(checkQueryTree(tree(sql), QUERYABLE_TABLES, 4)).toEqual({ unresolved: undefined });
  });

  it('refuses a name read outside the scope of the WITH query of that name, or inside its own body', () => {
    const outside =
      'SELECT * FROM Dockerfile WHERE 1 IN (WITH Dockerfile AS (SELECT 1) SELECT * FROM Dockerfile)';
    expect(checkQueryTree(tree(outside), QUERYABLE_TABLES, 2)).toEqual({ unresolved: 'Dockerfile' });
    const own = 'WITH t AS (SELECT * FROM t) SELECT * FROM t';
    expect(checkQueryTree(tree(own), QUERYABLE_TABLES, 2)).toEqual({ unresolved: 't' });
  });

  it('refuses forged headers, ids out of sequence and a reference count that differs from the AST', () => {
    expect(() =>
      checkQueryTree(tree('WITH `c\n      PROJECTION` AS (SELECT 1) SELECT * FROM c'), QUERYABLE_TABLES, 1),
    ).toThrow(QueryTreeError);
    const good = tree('WITH c AS (SELECT 1) SELECT * FROM c');
    expect(() => checkQueryTree(good.replace('id: 3', 'id: 9'), QUERYABLE_TABLES, 1)).toThrow(/sequence/);
    expect(() => checkQueryTree(good, QUERYABLE_TABLES, 2)).toThrow(/table references/);
    expect(() => checkQueryTree(`${good}x y\n`, QUERYABLE_TABLES, 1)).toThrow(QueryTreeError);
  });
});

describe('the function allow-list', () => {
  it('allows computations, aggregates with combinators, and names in any case where the engine does', () => {
    for (const name of [
      'count',
      'COUNT',
      'sumIf',
      'uniqExactMergeState',
      'quantilesExactIf',
      'countDistinctIf',
      'arrayMap',
      'lambda',
      'tuple',
      'in',
      'globalNotIn',
      'like',
      'CAST',
      'toStartOfHour',
      'JSONExtractString',
      'IPv4StringToNum',
      'cutToFirstSignificantSubdomain',
      'cityHash64',
      'row_number',
      'lagInFrame',
      'throwIf',
      'caseWithExpression',
      'multiIf',
      'formatReadableSize',
    ]) {
      expect(isAllowedFunction(name), name).toBe(true);
    }
  });

  it('denies files, network, external systems, dictionaries, other tables, host information and sleeping', () => {
    for (const name of [
      'file',
      'FILE',
      'url',
      's3',
      's3Cluster',
      'hdfs',
      'azureBlobStorage',
      'iceberg',
      'remote',
      'remoteSecure',
      'cluster',
      'input',
      'executable',
      'mysql',
      'postgresql',
      'jdbc',
      'odbc',
      'sqlite',
      'mongodb',
      'redis',
      'dictGet',
      'dictGetString',
      'dictHas',
      'dictionary',
      'joinGet',
      'joinGetOrNull',
      'merge',
      'view',
      'catboostEvaluate',
      'naiveBayesClassifier',
      'hasColumnInTable',
      'sleep',
      'sleepEachRow',
      'addressToLine',
      'addressToSymbol',
      'demangle',
      'filesystemAvailable',
      'filesystemCapacity',
      'getOSKernelVersion',
      'generateRandom',
      'getSetting',
      'getServerSetting',
      'getMacro',
      'hostName',
      'FQDN',
      'version',
      'uptime',
      'currentUser',
      'currentDatabase',
      'queryID',
      'encrypt',
      'decrypt',
      'rand',
      'numbers',
      'sumFile',
      'fileIf',
      'nosuchfunction',
    ]) {
      expect(isAllowedFunction(name), name).toBe(false);
    }
    for (const name of ALLOWED_FUNCTIONS) {
      expect(name, name).not.toMatch(
        /^(file|url$|s3|remote|dict|joinGet|sleep|addressTo|filesystem|catboost|naiveBayes)/i,
      );
    }
  });
});
