import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyError } from '../../ingest/body-error.js';
import {
  decodeContentEncoding,
  decodeContentEncodingAsync,
  trailerSize,
} from '../../ingest/http/decode-content-encoding.js';

/** Lines of varied text, so gzip has work to do and the output is not one repeated byte. */
function text(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 80 === 79 ? 10 : 0x61 + ((x >>> 16) % 26);
  }
  return out;
}

/** A BodyError with this status: vitest's own matcher on the rejection. */
const bodyError = (status: number) => expect.objectContaining({ name: 'BodyError', status });

describe("decodeContentEncodingAsync (the server's inflate, its output buffer sized from the gzip trailer)", () => {
  it('one gzip member: the bytes sent, and the trailer gives their size', async () => {
    const plain = text(700_000, 1);
    const gz = gzipSync(plain);
    expect(trailerSize(gz)).toBe(plain.length + 1);
    const out = await decodeContentEncodingAsync(gz, 'gzip', 64 << 20);
    expect(out.equals(plain)).toBe(true);
  });

  it('several members, whose last trailer under-states the whole: every member, in order', async () => {
    const parts = [text(300_000, 2), text(5_000, 3), text(150_000, 4)];
    const gz = Buffer.concat(parts.map((p) => gzipSync(p)));
    expect(trailerSize(gz)).toBe(150_001);
    const out = await decodeContentEncodingAsync(gz, 'x-gzip', 64 << 20);
    expect(out.equals(Buffer.concat(parts))).toBe(true);
    expect(out.equals(decodeContentEncoding(gz, 'gzip', 64 << 20))).toBe(true);
  });

  it('an empty body gzip’d, and two gzip layers', async () => {
    expect((await decodeContentEncodingAsync(gzipSync(Buffer.alloc(0)), 'gzip', 1024)).length).toBe(0);
    const plain = text(20_000, 5);
    const twice = gzipSync(gzipSync(plain));
    expect((await decodeContentEncodingAsync(twice, 'gzip, gzip', 1 << 20)).equals(plain)).toBe(true);
  });

  it('over the cap → 413, also when the trailer claims less than the members hold', async () => {
    const member = gzipSync(text(1 << 20, 6));
    const over = decodeContentEncodingAsync(member, 'gzip', (1 << 20) - 1);
    await expect(over).rejects.toThrow(BodyError);
    await expect(over).rejects.toEqual(bodyError(413));
    await expect(over).rejects.toThrow(/ingest\.maxDecodedBytes/);
    const many = Buffer.concat(Array.from({ length: 8 }, () => gzipSync(text(256 << 10, 7))));
    await expect(decodeContentEncodingAsync(many, 'gzip', 1 << 20)).rejects.toEqual(bodyError(413));
    expect((await decodeContentEncodingAsync(many, 'gzip', 2 << 20)).length).toBe(2 << 20);
  });

  it('a cut or corrupt stream → 400; another coding → 415', async () => {
    const gz = gzipSync(text(100_000, 8));
    await expect(decodeContentEncodingAsync(gz.subarray(0, gz.length - 9), 'gzip', 1 << 20)).rejects.toEqual(
      bodyError(400),
    );
    const bad = Buffer.from(gz);
    bad.writeUInt32LE(bad.readUInt32LE(bad.length - 4) + 1, bad.length - 4); // the trailer's length check fails
    await expect(decodeContentEncodingAsync(bad, 'gzip', 1 << 20)).rejects.toEqual(bodyError(400));
    await expect(decodeContentEncodingAsync(gz, 'br', 1 << 20)).rejects.toEqual(bodyError(415));
  });
});
