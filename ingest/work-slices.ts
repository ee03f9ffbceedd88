/**
 * Decoding a request body is written once, as a generator that `yield`s wherever it may pause (between
 * records, every few hundred KB of bytes). `runToEnd` drives it in one go (Kafka messages, which are small,
 * and unit tests); `runSliced` drives it in slices of a few milliseconds with `setImmediate` in between, so
 * one big or hostile body never holds the event loop, and gives up at the request's deadline or when the
 * heap is near its limit.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BodyError } from './body-error.js';

/** Work that pauses at each `yield` and returns a T. */
export type Sliced<T> = Generator<void, T, void>;

export function runToEnd<T>(work: Sliced<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

export interface SliceBudget {
  /** performance.now() after which the work is refused (413). */
  deadline: number;
  /** The limit that set the deadline, in ms, for the refusal's message. */
  maxMs: number;
  /** How long one slice may hold the event loop. */
  sliceMs: number;
  /** Throws (BodyError 503) when the process is too short of memory to go on. */
  checkHeap?: () => void;
}

export const DEFAULT_SLICE_MS = 10;

export function sliceBudget(maxMs: number, checkHeap?: () => void, sliceMs = DEFAULT_SLICE_MS): SliceBudget {
  return { deadline: performance.now() + maxMs, maxMs, sliceMs, checkHeap };
}

export async function runSliced<T>(work: Sliced<T>, budget: SliceBudget): Promise<T> {
  let sliceEnd = performance.now() + budget.sliceMs;
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    const now = performance.now();
    if (now < sliceEnd) continue;
    if (now > budget.deadline) {
      work.return(undefined as T);
      throw overTime(budget.maxMs);
    }
    await nextTurn();
    budget.checkHeap?.();
    sliceEnd = performance.now() + budget.sliceMs;
  }
}

/** Awaits between slices of a plain loop: call `tick()` once per item. */
export class Slicer {
  private sliceEnd: number;

  constructor(private readonly sliceMs = DEFAULT_SLICE_MS) {
    this.sliceEnd = performance.now() + sliceMs;
  }

  /** True when the slice is used up: the caller should `await pause()`. */
  get due(): boolean {
    return performance.now() >= this.sliceEnd;
  }

  async pause(): Promise<void> {
    await nextTurn();
    this.sliceEnd = performance.now() + this.sliceMs;
  }
}

function overTime(maxMs: number): BodyError {
  return new BodyError(
    413,
    `decoding the body took longer than ${maxMs} ms (limit ingest.maxDecodeMs): send smaller bodies or raise it`,
  );
}
