/**
 * Text that goes into YAML comments and terminal tables comes partly from clients (hosts, paths): control
 * characters (a `\r` could end a comment line and start YAML content) are replaced, and long lines are wrapped.
 */

export function safeText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD');
}

/** `text` (one paragraph) wrapped at spaces into lines of at most `width` characters where possible. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const words = safeText(text).split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = indent + w;
    } else {
      line = line === '' ? w : `${line} ${w}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
