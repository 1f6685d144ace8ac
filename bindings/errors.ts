// errors.ts — the typed errors of the TS API, and the map from Wasm error codes (E_*) to them.
//
// Every error carries `code` (the Wasm ABI code) and, where it concerns an object, `ptr` and `cache`
// (the cache's name). Throwing one never leaves the heap changed: the Wasm side checks before it acts.

/** Wasm ABI error codes (assembly/layout.ts E_*). */
export const ErrorCode = {
  OK: 0,
  NOMEM: 1,
  NOT_OURS: 2,
  NOT_OBJECT: 3,
  WRONG_CACHE: 4,
  DOUBLE_FREE: 5,
  INVALID: 6,
  BUSY: 7,
  BAD_CACHE: 8,
  REDZONE: 9,
  POISON: 10,
  CORRUPT: 11,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error wasm-slab throws. */
export class SlabError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** No memory: the budget (`maxBytes`) is reached or the engine refused to grow memory. */
export class OutOfMemoryError extends SlabError {
  readonly bytes: number;
  constructor(what: string, bytes: number) {
    super(`wasm-slab: out of memory allocating ${what} (${bytes} bytes)`, ErrorCode.NOMEM);
    this.bytes = bytes;
  }
}

export type InvalidFreeReason = "not-ours" | "not-object" | "wrong-cache";

/** A free of a pointer that is not an allocated object of this cache. Nothing was freed. */
export class InvalidFreeError extends SlabError {
  readonly ptr: number;
  readonly cache: string;
  readonly reason: InvalidFreeReason;
  constructor(ptr: number, cache: string, reason: InvalidFreeReason, code: number) {
    const why =
      reason === "not-ours"
        ? "is not inside a slab of this heap"
        : reason === "not-object"
          ? "is not the start of an object"
          : "belongs to another cache";
    super(`wasm-slab: free(0x${ptr.toString(16)}) in cache '${cache}': the pointer ${why}`, code);
    this.ptr = ptr;
    this.cache = cache;
    this.reason = reason;
  }
}

/** A free of an object that is already free. Nothing was changed. */
export class DoubleFreeError extends SlabError {
  readonly ptr: number;
  readonly cache: string;
  constructor(ptr: number, cache: string) {
    super(`wasm-slab: double free of 0x${ptr.toString(16)} in cache '${cache}'`, ErrorCode.DOUBLE_FREE);
    this.ptr = ptr;
    this.cache = cache;
  }
}

/** An option or argument out of range (size, alignment, node, CPU, capacity...). */
export class InvalidArgumentError extends SlabError {
  constructor(message: string) {
    super(`wasm-slab: ${message}`, ErrorCode.INVALID);
  }
}

/** cache.destroy() while objects are live. Nothing was freed. */
export class CacheBusyError extends SlabError {
  readonly cache: string;
  readonly live: number;
  constructor(cache: string, live: number) {
    super(`wasm-slab: cannot destroy cache '${cache}': ${live} object(s) still allocated`, ErrorCode.BUSY);
    this.cache = cache;
    this.live = live;
  }
}

/** Use of a cache after destroy(). */
export class CacheDestroyedError extends SlabError {
  readonly cache: string;
  constructor(cache: string) {
    super(`wasm-slab: cache '${cache}' was destroyed`, ErrorCode.BAD_CACHE);
    this.cache = cache;
  }
}

/** validate() found an inconsistency (thrown by validate({ throw: true })). */
export class CorruptionError extends SlabError {
  readonly problems: readonly ValidateProblem[];
  constructor(problems: readonly ValidateProblem[], total: number) {
    const first = problems[0];
    super(
      `wasm-slab: validate found ${total} problem(s)` +
        (first ? `; first: ${first.kind} at 0x${first.addr.toString(16)}` : ""),
      ErrorCode.CORRUPT,
    );
    this.problems = problems;
  }
}

export interface ValidateProblem {
  /** What is wrong: page-cover, free-list, free-count, slab-list, slab-count, tail, array, barn. */
  kind: string;
  /** The descriptor, structure or object address concerned. */
  addr: number;
  /** The cache concerned, if any. */
  cache?: string;
}

/** Build the error for a failed free. */
export function freeError(code: number, ptr: number, cache: string): SlabError {
  switch (code) {
    case ErrorCode.NOT_OURS:
      return new InvalidFreeError(ptr, cache, "not-ours", code);
    case ErrorCode.NOT_OBJECT:
      return new InvalidFreeError(ptr, cache, "not-object", code);
    case ErrorCode.WRONG_CACHE:
      return new InvalidFreeError(ptr, cache, "wrong-cache", code);
    case ErrorCode.DOUBLE_FREE:
      return new DoubleFreeError(ptr, cache);
    case ErrorCode.BAD_CACHE:
      return new CacheDestroyedError(cache);
    default:
      return new SlabError(`wasm-slab: free(0x${ptr.toString(16)}) failed with code ${code}`, code);
  }
}
