/**
 * Where a scan leaves its results: field boundaries and numeric values in typed arrays, reused line after
 * line, so the hot path allocates nothing per field. Field i spans `off[2i]..off[2i+1]` of the line; its
 * number (ints, epoch ms for times) is `num[i]`, NaN when the field is `-`.
 */
export class ScanState {
  readonly off: Int32Array;
  readonly num: Float64Array;
  /** After a failed scan: an index into the format's reasons, and the offset where matching failed. */
  failCode = 0;
  failAt = 0;

  constructor(fieldCount: number) {
    this.off = new Int32Array(fieldCount * 2);
    this.num = new Float64Array(fieldCount);
  }
}
