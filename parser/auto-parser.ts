/**
 * `auto`: users rarely know which Istio generation wrote their logs, and one fleet can hold several.
 * Each line is matched against JSON and every preset; the preset that matched last is tried first, so a
 * uniform file costs one scan per line. Container-runtime wrappers are taken off first; prefixes that tools
 * print (kubectl --prefix, stern, docker compose, Cloud Foundry, JSON logging wrappers) only after a line
 * failed as it is, so plain lines never pay for them.
 */
import { parseJsonLine } from './json-line.js';
import { PRESETS } from './presets.js';
import { type AccessRecord, ParseFailure } from './record.js';
import { TextParser } from './text-parser.js';
import { criPayloadStart, cutToolPrefix, unwrapDocker, unwrapJsonWrapper } from './unwrap.js';

/** Prefixes inside prefixes (kubectl --prefix, then --timestamps): a few levels, never unbounded. */
const MAX_WRAPPERS = 3;

export class AutoParser {
  readonly name = 'auto';
  /** Shapes that differ; `istio-1.9` has the same shape as `istio`, so the two cannot be told apart. */
  readonly candidates: TextParser[] = PRESETS.filter((p) => p.name !== 'istio-1.9').map(
    (p) => new TextParser(p.name, p.format),
  );
  private last = 0;
  /** The time the wrappers of the last line carried, for a record without its own start time. */
  wrapperTimeMs: number | undefined;

  /** The text parser whose scan matched `buf[start..end)` (its state holds the result), or undefined. */
  matchText(buf: Uint8Array, start: number, end: number): TextParser | undefined {
    const n = this.candidates.length;
    for (let k = 0; k < n; k++) {
      const idx = (this.last + k) % n;
      const candidate = this.candidates[idx]!;
      if (candidate.scan(buf, start, end)) {
        this.last = idx;
        return candidate;
      }
    }
    return undefined;
  }

  parse(line: string): AccessRecord | ParseFailure {
    const buf = Buffer.from(line, 'utf8');
    return this.parseBytes(buf, 0, buf.length, 0);
  }

  parseBytes(buf: Buffer, start: number, end: number, depth = 0): AccessRecord | ParseFailure {
    if (depth === 0) this.wrapperTimeMs = undefined;
    const c0 = buf[start];
    if (c0 === 91 /* [ */) {
      const text = this.matchText(buf, start, end);
      if (text) return text.parseBytes(buf, start, end);
      return this.behindPrefix(buf, start, end, depth) ?? this.bestFailure(buf, start, end);
    }
    if (depth === 0) {
      const cri = criPayloadStart(buf, start, end);
      if (cri !== 0) return this.parseBytes(buf, cri > 0 ? cri : -cri - 1, end, 1);
      if (c0 === 123) {
        const docker = unwrapDocker(buf.toString('utf8', start, end));
        if (docker) {
          const inner = Buffer.from(docker.line, 'utf8');
          return this.parseBytes(inner, 0, inner.length, 1);
        }
      }
    }
    if (c0 === 123 /* { */) {
      const text = buf.toString('utf8', start, end);
      const json = parseJsonLine(text);
      if (!(json instanceof ParseFailure) || depth >= MAX_WRAPPERS) return json;
      const wrapped = unwrapJsonWrapper(text);
      if (!wrapped) return json;
      this.wrapperTimeMs ??= wrapped.timeMs;
      const inner = Buffer.from(wrapped.line, 'utf8');
      return this.parseBytes(inner, 0, inner.length, depth + 1);
    }
    return (
      this.behindPrefix(buf, start, end, depth) ??
      new ParseFailure(
        'not an access-log line: expected "[" (TEXT), "{" (JSON), a CRI/Docker wrapper or a known tool prefix',
        0,
        buf.toString('utf8', start, end),
      )
    );
  }

  /** The line behind a tool's prefix, parsed; undefined when there is no known prefix. */
  private behindPrefix(
    buf: Buffer,
    start: number,
    end: number,
    depth: number,
  ): AccessRecord | ParseFailure | undefined {
    if (depth >= MAX_WRAPPERS) return undefined;
    const cut = cutToolPrefix(buf, start, end, true);
    if (!cut) return undefined;
    this.wrapperTimeMs ??= cut.timeMs;
    return this.parseBytes(buf, cut.start, end, depth + 1);
  }

  /**
   * The failure of the format that got furthest into the line explains the problem best; a format that
   * failed its up-front checks (first or last literal) got nowhere, whatever offset that check reports.
   */
  private bestFailure(buf: Buffer, start: number, end: number): ParseFailure {
    let best: ParseFailure | undefined;
    let bestRank = -1;
    let bestName = '';
    for (const candidate of this.candidates) {
      candidate.scan(buf, start, end);
      const f = candidate.failure(buf, start, end, candidate.state);
      const rank = candidate.compiled.prologueCodes.has(candidate.state.failCode) ? 0 : 1 + f.offset;
      if (rank > bestRank) {
        best = f;
        bestRank = rank;
        bestName = candidate.name;
      }
    }
    return new ParseFailure(
      `no format matched; closest ${bestName}: ${best!.error}`,
      best!.offset,
      best!.raw,
    );
  }
}
