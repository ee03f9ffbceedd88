/**
 * The flagged destinations of the ServiceEntry report (see service-entry-flags.ts) as text: `#` comment lines
 * for the YAML header and a section under the table. Client-supplied names go through `safeText`.
 */
import { safeText, wrap } from '../shared/comment-text.js';
import { textTable } from '../shared/text-table.js';
import type { FlaggedDestination } from './service-entry-flags.js';

const WIDTH = 110;

/** `# ` comment lines, one paragraph per flagged destination. */
export function flaggedCommentLines(flagged: readonly FlaggedDestination[]): string[] {
  if (flagged.length === 0) return [];
  const lines = [`# ${flagged.length} destination(s) flagged, no ServiceEntry suggested:`];
  for (const f of flagged) {
    const head = `${f.reason}: ${f.host} (ports ${f.ports.join(',') || '?'}, ${f.requests} requests, from ${f.namespaces.join(',') || '?'})`;
    for (const l of wrap(`${head}: ${f.detail}`, WIDTH - 4, '    ')) lines.push(`#   ${l}`);
  }
  return lines;
}

/** A table of the flagged destinations with their reason; '' when there are none. */
export function flaggedTable(flagged: readonly FlaggedDestination[]): string {
  if (flagged.length === 0) return '';
  const rows = flagged.map((f) =>
    [f.host, f.reason, f.ports.join(',') || '?', f.requests, f.namespaces.join(',') || '-'].map((c) =>
      safeText(String(c)),
    ),
  );
  const details = flagged.map((f) => wrap(`${f.host}: ${f.detail}`, WIDTH, '  ').join('\n')).join('\n');
  return (
    `\nflagged, no ServiceEntry suggested (${flagged.length}):\n` +
    textTable(['HOST', 'REASON', 'PORTS', 'REQUESTS', 'NAMESPACES'], rows) +
    `${details}\n`
  );
}
