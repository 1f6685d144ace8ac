// args.ts — argument checks shared by every method: pointers, counts and indices are non-negative
// integers in range, or an InvalidArgumentError; nothing is truncated or coerced.
//
// Owns: what a valid pointer / byte count / index / u32 is at the TS API, and the error message for
// each. Entry points: isU32() (the one-comparison test the fast paths inline), ptrArg(), countArg(),
// indexArg(), u32Arg(). Called by: core.ts, malloc.ts, cache.ts, reclaim.ts, heap.ts, options.ts.
// Invariants: a value passes only if it is a number (not a string, array, boxed Number or bigint) with
// no fractional part in the stated range; for a number, `(x >>> 0) === x` is exactly "an integer in
// 0 .. 2^32-1" (NaN, -1, 2^32 and 0.5 all fail it), which is why it is the hot-path test.
import { InvalidArgumentError } from "./errors.js";

export const U32_MAX = 0xffff_ffff;

/** True when x is a number that is an integer in 0 .. 2^32-1. Cheap enough for a fast path: with
 *  number feedback the typeof folds into the check the shift needs anyway (and a BigInt or a Symbol,
 *  on which `>>>` would throw a TypeError, is refused instead). */
export function isU32(x: unknown): x is number {
  return typeof x === "number" && (x >>> 0) === x;
}

/** How a bad argument is shown in a message: strings quoted, arrays bracketed, everything readable. */
export function show(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (Array.isArray(x)) return `[${x.map(show).join(", ")}]`;
  if (typeof x === "function") return "a function";
  if (x !== null && typeof x === "object") return Object.prototype.toString.call(x);
  return String(x);
}

/** The error for a value that is not a pointer (an integer in 0 .. 2^32-1). */
export function badPtr(what: string, p: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${what}: ${show(p)} is not a pointer (an integer in 0..${U32_MAX})`);
}

/** p as a pointer (u32), or InvalidArgumentError. */
export function ptrArg(what: string, p: unknown): number {
  if (!isU32(p)) throw badPtr(what, p);
  return p;
}

/** n as a count in 0..max (inclusive), or InvalidArgumentError. */
export function countArg(what: string, n: unknown, max: number = U32_MAX, min = 0): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${what}: ${show(n)} is not an integer in ${min}..${max}`);
  }
  return n;
}

/** i as an index in 0..n-1 (a CPU, a node), or InvalidArgumentError naming the range. */
export function indexArg(what: string, i: unknown, n: number, noun: string): number {
  if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= n) {
    throw new InvalidArgumentError(`${what}(${show(i)}): ${noun} are 0..${n - 1}`);
  }
  return i;
}

/** x as a u32 (a tag, a stamp), or InvalidArgumentError. */
export function u32Arg(what: string, x: unknown): number {
  if (!isU32(x)) throw new InvalidArgumentError(`${what}(${show(x)}): not a u32`);
  return x;
}
