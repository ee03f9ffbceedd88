/**
 * Fluent Bit's `kafka` output (librdkafka) compresses with gzip, snappy, lz4 or zstd (`rdkafka.compression.codec`);
 * kafkajs decodes only gzip itself and stops the consumer for good on the others. Registering codecs here
 * (imported by kafka-client.ts, before any consumer exists) makes all four readable:
 *   snappy: kafkajs-snappy (pure-JS snappyjs; raw and xerial-framed, as Java producers write it)
 *   lz4:    lz4-napi (lz4_flex via napi-rs, prebuilt binaries shipped as per-platform npm packages)
 *   zstd:   fzstd (pure JS; the consumer only decompresses, so compression is refused)
 * A batch that still cannot be decompressed (corrupt, or a codec option we do not read) must not stop the
 * partition: the codec then hands kafkajs one marker record per offset of the batch, which the consumer turns
 * into dead letters (topic, partition, offset) while consumption goes on.
 */
import { decompress as zstdDecompress } from 'fzstd';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';

// kafkajs is CommonJS; Node's ESM loader does not see these as named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

import { compressFrame, decompressFrame } from 'lz4-napi';

interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Starts the value of a marker record; no Fluent Bit record (JSON or text) starts with a NUL byte. */
export const UNDECODABLE_MARKER = Buffer.from('\u0000egresslens:undecodable-batch\u0000', 'latin1');

/** What an undecodable batch's marker records say: why, and (first record only) the compressed bytes. */
export interface UndecodableBatch {
  reason: string;
  /** The compressed records, base64, on the batch's first offset only; cut beyond MAX_KEPT_BYTES. */
  compressed: string;
}

/** Compressed bytes kept with the first dead letter of an undecodable batch. */
const MAX_KEPT_BYTES = 256 << 10;

const lz4Codec = (): KafkaCodec => ({
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: (buffer) => decompressFrame(buffer),
});

const zstdCodec = (): KafkaCodec => ({
  compress: () => Promise.reject(new Error('egresslens only consumes: zstd compression is not supported')),
  decompress: async (buffer) => {
    const out = zstdDecompress(buffer);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  },
});

let registered = false;

/** Registers the four codecs with kafkajs (once per process). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as unknown as Record<number, () => KafkaCodec>;
  const kafkajsGzip = codecs[CompressionTypes.GZIP]!; // kafkajs' own, on node:zlib
  codecs[CompressionTypes.GZIP] = tolerant('gzip', kafkajsGzip);
  codecs[CompressionTypes.Snappy] = tolerant('snappy', SnappyCodec);
  codecs[CompressionTypes.LZ4] = tolerant('lz4', lz4Codec);
  codecs[CompressionTypes.ZSTD] = tolerant('zstd', zstdCodec);
}

function tolerant(name: string, factory: () => KafkaCodec): () => KafkaCodec {
  return () => {
    const codec = factory();
    return {
      compress: (encoder) => codec.compress(encoder),
      async decompress(buffer) {
        try {
          return await codec.decompress(buffer);
        } catch (err) {
          const count = recordCount(buffer);
          if (count === undefined) throw err;
          return markerRecords(
            count,
            `${name} batch could not be decompressed: ${(err as Error).message}`,
            buffer,
          );
        }
      },
    };
  };
}

/**
 * The record count of the batch whose compressed records `buffer` is. kafkajs reads the count (Int32) and then
 * hands the codec the rest of the same buffer as a view (Decoder.readAll), so the count sits just before it.
 */
function recordCount(buffer: Buffer): number | undefined {
  if (buffer.byteOffset < 4) return undefined;
  const count = new DataView(buffer.buffer, buffer.byteOffset - 4, 4).getInt32(0);
  return count > 0 && count <= 10_000_000 ? count : undefined;
}

/** `count` records in Kafka's v2 record layout, offset deltas 0…count-1, each valued with the marker. */
function markerRecords(count: number, reason: string, compressed: Buffer): Buffer {
  const kept = compressed.subarray(0, MAX_KEPT_BYTES).toString('base64');
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const info: UndecodableBatch = { reason, compressed: i === 0 ? kept : '' };
    const value = Buffer.concat([UNDECODABLE_MARKER, Buffer.from(JSON.stringify(info))]);
    const record = Buffer.concat([
      Buffer.from([0]), // attributes
      varint(0), // timestamp delta
      varint(i), // offset delta
      varint(-1), // key: null
      varint(value.length),
      value,
      varint(0), // no headers
    ]);
    parts.push(varint(record.length), record);
  }
  return Buffer.concat(parts);
}

/** Kafka's zigzag varint. */
function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (z >= 0x80) {
    bytes.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  bytes.push(z);
  return Buffer.from(bytes);
}

/** The marker's content when `value` is a marker record, else undefined. */
export function undecodableBatch(value: Buffer | null): UndecodableBatch | undefined {
  if (!value || value.length < UNDECODABLE_MARKER.length) return undefined;
  if (!value.subarray(0, UNDECODABLE_MARKER.length).equals(UNDECODABLE_MARKER)) return undefined;
  return JSON.parse(value.toString('utf8', UNDECODABLE_MARKER.length)) as UndecodableBatch;
}
