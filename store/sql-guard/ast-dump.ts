/**
 * Reads the engine's `EXPLAIN AST` text back into a tree.
 *
 * One line per node: indentation by one space per level, the node type, then what the node prints of itself
 * (a function or table name, a literal), ` (alias …)` and ` (children N)`. The engine prints names and aliases
 * unescaped, so a back-quoted name with a newline adds lines of the user's choosing. Every declared children count
 * is therefore checked against the lines found: the only lines that can then be forged hang below the node whose
 * name carried them, and they are judged like real nodes, so forging can only add refusals. Any line that does not
 * fit, or a count that does not match, makes the dump unusable and the query is refused.
 */

export interface AstNode {
  /** SelectQuery, Function, TableIdentifier, Literal … */
  type: string;
  /** What follows the type on its line: the function or table name, the literal … ('' when nothing). */
  detail: string;
  alias: string | undefined;
  children: AstNode[];
}

export class AstDumpError extends Error {
  override name = 'AstDumpError';
}

const LINE = /^( *)([A-Za-z][A-Za-z0-9_]*(?:::[A-Za-z][A-Za-z0-9_]*)?)(.*)$/;
const CHILDREN = / \(children (\d+)\)$/;
const ALIAS = / \(alias (.*)\)$/s;

interface Pending {
  node: AstNode;
  depth: number;
  declared: number;
}

/** Parses the dump; throws AstDumpError when it is not one well-formed tree. */
export function parseAstDump(text: string): AstNode {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new AstDumpError('the engine returned no syntax tree');
  const stack: Pending[] = [];
  let root: Pending | undefined;
  const close = (downTo: number) => {
    while (stack.length > 0 && stack[stack.length - 1]!.depth >= downTo) {
      const done = stack.pop()!;
      if (done.node.children.length !== done.declared) {
        throw new AstDumpError(
          `node ${done.node.type} declares ${done.declared} children but has ${done.node.children.length}`,
        );
      }
    }
  };
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m)
      throw new AstDumpError(`unexpected line in the syntax tree: ${JSON.stringify(line.slice(0, 80))}`);
    const depth = m[1]!.length;
    let rest = m[3]!;
    let declared = 0;
    const c = CHILDREN.exec(rest);
    if (c) {
      declared = Number(c[1]);
      rest = rest.slice(0, c.index);
    }
    let alias: string | undefined;
    const a = ALIAS.exec(rest);
    if (a) {
      alias = a[1];
      rest = rest.slice(0, a.index);
    }
    if (rest !== '' && !rest.startsWith(' ')) {
      throw new AstDumpError(`unexpected line in the syntax tree: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const node: AstNode = { type: m[2]!, detail: rest.slice(1), alias, children: [] };
    close(depth);
    if (depth === 0) {
      if (root) throw new AstDumpError('the syntax tree has more than one root');
      root = { node, depth, declared };
    } else {
      const parent = stack[stack.length - 1];
      if (!parent || parent.depth !== depth - 1) throw new AstDumpError('the syntax tree skips a level');
      parent.node.children.push(node);
    }
    stack.push(depth === 0 ? root! : { node, depth, declared });
  }
  close(0);
  return root!.node;
}
