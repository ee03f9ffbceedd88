/**
 * Walks msgpack headers without building values, so depth and element limits are checked before the decoder
 * allocates anything: 16 MB of nested one-element arrays (0x91 0x91 …) would otherwise become 16 million JS
 * arrays (measured: 7 s and 2.6 GB) before any check on the decoded value could run. String, binary and
 * extension payloads are skipped by their length; a length that runs past the end is refused here too.
 */
import { BodyError } from './body-error.js';

export interface MsgpackScanLimits {
  /** Deepest nesting of maps and arrays in one item. */
  maxDepth: number;
  /** Map keys plus array elements in one item. */
  maxElements: number;
}

/** Byte sizes of the fixed-size types, by first byte (0 = variable or container). */
const FIXED = new Uint8Array(256);
for (let b = 0; b <= 0x7f; b++) FIXED[b] = 1;
for (let b = 0xe0; b <= 0xff; b++) FIXED[b] = 1;
FIXED[0xc0] = FIXED[0xc2] = FIXED[0xc3] = 1;
FIXED[0xcc] = FIXED[0xd0] = 2;
FIXED[0xcd] = FIXED[0xd1] = 3;
FIXED[0xca] = FIXED[0xce] = FIXED[0xd2] = 5;
FIXED[0xcb] = FIXED[0xcf] = FIXED[0xd3] = 9;
FIXED[0xd4] = 3;
FIXED[0xd5] = 4;
FIXED[0xd6] = 6;
FIXED[0xd7] = 10;
FIXED[0xd8] = 18;

export class MsgpackScanner {
  /**
   * Children still to read, per open container, up to `depth`. Kept from item to item at its longest (an
   * array emptied with `length = 0` gives up its backing store, and refilling it allocated for every event).
   */
  private readonly open: number[] = [];
  /** Map keys plus array elements of the last item scanned. */
  elements = 0;

  constructor(private readonly buf: Uint8Array) {}

  /**
   * End of the value starting at `pos` (part of event `index`, for messages). Throws BodyError 400 when it
   * is nested deeper than maxDepth, has more than maxElements, uses the reserved byte 0xc1 or is cut short.
   */
  valueEnd(pos: number, index: number, limits: MsgpackScanLimits): number {
    const { buf, open } = this;
    const len = buf.length;
    let depth = 0;
    let elements = 0;
    for (;;) {
      if (pos >= len) throw this.truncated(index);
      const b = buf[pos]!;
      // Children to read (two per map pair), and elements for the limit (one per pair, as in the JSON scanner).
      let children = 0;
      let count = 0;
      const fixed = FIXED[b]!;
      if (fixed !== 0) {
        pos += fixed;
      } else if (b >= 0x80 && b <= 0x8f) {
        count = b & 0x0f;
        children = count * 2;
        pos += 1;
      } else if (b >= 0x90 && b <= 0x9f) {
        count = children = b & 0x0f;
        pos += 1;
      } else if (b >= 0xa0 && b <= 0xbf) {
        pos += 1 + (b & 0x1f);
      } else {
        switch (b) {
          case 0xc4:
          case 0xd9:
            pos += 2 + this.uint(pos + 1, 1, index);
            break;
          case 0xc5:
          case 0xda:
            pos += 3 + this.uint(pos + 1, 2, index);
            break;
          case 0xc6:
          case 0xdb:
            pos += 5 + this.uint(pos + 1, 4, index);
            break;
          case 0xc7:
            pos += 3 + this.uint(pos + 1, 1, index);
            break;
          case 0xc8:
            pos += 4 + this.uint(pos + 1, 2, index);
            break;
          case 0xc9:
            pos += 6 + this.uint(pos + 1, 4, index);
            break;
          case 0xdc:
            count = children = this.uint(pos + 1, 2, index);
            pos += 3;
            break;
          case 0xdd:
            count = children = this.uint(pos + 1, 4, index);
            pos += 5;
            break;
          case 0xde:
            count = this.uint(pos + 1, 2, index);
            children = count * 2;
            pos += 3;
            break;
          case 0xdf:
            count = this.uint(pos + 1, 4, index);
            children = count * 2;
            pos += 5;
            break;
          default:
            throw new BodyError(400, `invalid msgpack in event ${index}: byte 0x${b.toString(16)} at ${pos}`);
        }
      }
      if (pos > len) throw this.truncated(index);
      if (children > 0) {
        if (depth >= limits.maxDepth) {
          throw new BodyError(
            400,
            `record ${index} is nested more than ${limits.maxDepth} levels deep (limit ingest.maxDepth)`,
          );
        }
        elements += count;
        if (elements > limits.maxElements) {
          throw new BodyError(
            400,
            `record ${index} has more than ${limits.maxElements} keys (limit ingest.maxKeysPerRecord)`,
          );
        }
        if (depth === open.length) open.push(children);
        else open[depth] = children;
        depth++;
        continue;
      }
      // A value ended: close the containers it completes.
      for (;;) {
        if (depth === 0) {
          this.elements = elements;
          return pos;
        }
        if (--open[depth - 1]! > 0) break;
        depth--;
      }
    }
  }

  private uint(at: number, bytes: 1 | 2 | 4, index: number): number {
    const buf = this.buf;
    if (at + bytes > buf.length) throw this.truncated(index);
    if (bytes === 1) return buf[at]!;
    if (bytes === 2) return (buf[at]! << 8) | buf[at + 1]!;
    return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
  }

  private truncated(index: number): BodyError {
    return new BodyError(400, `invalid msgpack in event ${index}: the data ends inside it`);
  }
}
