/**
 * WITH names, which `EXPLAIN AST` does not print, from `EXPLAIN QUERY TREE run_passes = 0`: the engine's query tree
 * as built from the syntax tree, before any analysis (no table, file or URL is looked up). Used only when a query
 * reads a bare name that is not one of egresslens's tables: that name must then be a WITH query in scope, because
 * otherwise chDB's default database (an overlay that also maps names to files in the working directory) or the
 * server would resolve it.
 *
 * Like the AST dump, this text prints names unescaped. Its node lines carry ids 0, 1, 2 … in order, so a forged
 * node line would repeat an id: the node lines are all real, only section-header lines could be forged. The table
 * references the rules need are found through real structure (a header line directly above its node, an IN
 * argument), a WITH line must be followed by its section header and a node, and the number of table references
 * found must equal the number in the verified AST; anything else refuses the query as unverifiable.
 */

export class QueryTreeError extends Error {
  override name = 'QueryTreeError';
}

interface QtNode {
  type: string;
  fields: string;
  indent: number;
  parent: QtNode | undefined;
  children: QtNode[];
  /** The header line directly above this node's line, if that line was a header. */
  header: string | undefined;
}

const NODE = /^( *)([A-Z][A-Z_]*(?: [A-Z][A-Z_]*)*) id: (\d+)(?:, (.*))?$/;
const HEADER = /^( *)([A-Z][A-Z_]*(?: [A-Z][A-Z_]*)*)$/;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Headers whose node is a table expression. */
const TABLE_HEADERS = new Set([
  'JOIN TREE',
  'TABLE EXPRESSION',
  'LEFT TABLE EXPRESSION',
  'RIGHT TABLE EXPRESSION',
]);
const IN_FUNCTIONS =
  /(?:^|, )function_name: (?:in|notIn|globalIn|globalNotIn|nullIn|notNullIn|globalNullIn|globalNotNullIn)(?:, |$)/;
/** Added by the engine to a SELECT without FROM; an explicit one is refused by the AST rules. */
const IMPLICIT_TABLE = 'system.one';

export interface QueryTreeVerdict {
  /** A bare name that is neither allowed nor a WITH query in scope, if any. */
  unresolved: string | undefined;
}

/**
 * Checks that every table reference in the tree is an allowed table, a qualified name (judged by the AST rules) or
 * a WITH query in scope. `astReferences` is how many table references the verified AST holds.
 */
export function checkQueryTree(
  text: string,
  allowed: ReadonlySet<string>,
  astReferences: number,
): QueryTreeVerdict {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const nodes: QtNode[] = [];
  const stack: QtNode[] = [];
  const cteNames = new Map<QtNode, string>();
  let pendingHeader: { name: string; indent: number } | undefined;
  /** Index of the line that must be a header (after a WITH query) or a node (after that header). */
  let expect: { line: number; kind: 'header' | 'node' } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = NODE.exec(line);
    if (expect && expect.line === i && expect.kind === 'header' && n) {
      throw new QueryTreeError('a WITH query is not followed by its sections');
    }
    if (n) {
      if (pendingHeader === undefined && expect?.line === i && expect.kind === 'node') {
        throw new QueryTreeError('a section header is not followed by a node');
      }
      const indent = n[1]!.length;
      if (Number(n[3]) !== nodes.length) throw new QueryTreeError('node ids are not in sequence');
      while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const parent = stack[stack.length - 1];
      if (!parent && nodes.length > 0) throw new QueryTreeError('the query tree has more than one root');
      const node: QtNode = {
        type: n[2]!,
        fields: n[4] ?? '',
        indent,
        parent,
        children: [],
        header: pendingHeader && pendingHeader.indent === indent - 2 ? pendingHeader.name : undefined,
      };
      parent?.children.push(node);
      nodes.push(node);
      stack.push(node);
      pendingHeader = undefined;
      if (node.type === 'QUERY' && /(?:^|, )is_cte: 1(?:, |$)/.test(node.fields)) {
        const name = /, cte_name: (.*)$/.exec(node.fields)?.[1];
        if (name === undefined || !PLAIN.test(name))
          throw new QueryTreeError('a WITH name is not a plain name');
        cteNames.set(node, name);
        expect = { line: i + 1, kind: 'header' };
      }
      continue;
    }
    const h = HEADER.exec(line);
    if (!h)
      throw new QueryTreeError(`unexpected line in the query tree: ${JSON.stringify(line.slice(0, 80))}`);
    if (pendingHeader !== undefined) throw new QueryTreeError('a section header is not followed by a node');
    pendingHeader = { name: h[2]!, indent: h[1]!.length };
    if (expect?.line === i) expect = { line: i + 1, kind: 'node' };
  }
  if (pendingHeader !== undefined || (expect && expect.line >= lines.length)) {
    throw new QueryTreeError('the query tree ends early');
  }

  let references = 0;
  for (const node of nodes) {
    if (node.type !== 'IDENTIFIER' || !isTableReference(node)) continue;
    const name = /(?:^|, )identifier: ([A-Za-z0-9_.]+)$/.exec(node.fields)?.[1];
    if (name === undefined) throw new QueryTreeError('a table reference is not a plain name');
    if (name === IMPLICIT_TABLE) continue;
    references++;
    if (name.includes('.') || allowed.has(name)) continue;
    if (!withQueryInScope(node, name, cteNames)) return { unresolved: name };
  }
  if (references !== astReferences) {
    throw new QueryTreeError(
      `the query tree holds ${references} table references, the syntax tree ${astReferences}`,
    );
  }
  return { unresolved: undefined };
}

function isTableReference(node: QtNode): boolean {
  if (node.header !== undefined && TABLE_HEADERS.has(node.header)) return true;
  // x IN name: the second argument of an IN function.
  const list = node.parent;
  const fn = list?.parent;
  return (
    list?.type === 'LIST' &&
    list.header === 'ARGUMENTS' &&
    list.children[1] === node &&
    fn?.type === 'FUNCTION' &&
    IN_FUNCTIONS.test(fn.fields)
  );
}

/** A WITH query named `name`, defined by a query enclosing `ref`, and not the one whose body holds `ref`. */
function withQueryInScope(ref: QtNode, name: string, cteNames: ReadonlyMap<QtNode, string>): boolean {
  const ancestors = new Set<QtNode>();
  for (let a = ref.parent; a; a = a.parent) ancestors.add(a);
  for (const [cte, cteName] of cteNames) {
    if (cteName !== name || ancestors.has(cte)) continue;
    const owner = cte.parent?.parent; // QUERY → WITH → LIST → the WITH query
    if (
      owner?.type === 'QUERY' &&
      cte.parent?.type === 'LIST' &&
      cte.parent.header === 'WITH' &&
      ancestors.has(owner)
    )
      return true;
  }
  return false;
}
