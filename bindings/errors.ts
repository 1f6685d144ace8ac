// errors.ts — the typed errors of the TS API, and the map from Wasm error codes (E_*) to them.
//
// Every error carries `code` (the Wasm ABI code) and, where it concerns an object, `ptr` and `cache`
// (the cache's name). Throwing one never leaves the heap changed: the Wasm side checks before it acts.
// The debug errors (RedZoneError, PoisonError, and DoubleFreeError in a debug cache) also carry the
// offset of the bad byte and the object's alloc/free tracks when its cache stores them; the object they
// name is quarantined (never handed out again) and the rest of the heap keeps working.
// Every class sets `name` to a string literal (not new.target.name), so minified bundles keep the names.

import { ErrorCodes } from "./generated/abi.js";

/** Wasm ABI error codes (assembly/layout.ts E_*), read from the module at build time (generated/abi.ts). */
export const ErrorCode = ErrorCodes;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error wasm-slab throws. */
export class SlabError extends Error {
  override name = "SlabError";
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** No memory: the budget (`maxBytes`) is reached or the engine refused to grow memory. */
export class OutOfMemoryError extends SlabError {
  override name = "OutOfMemoryError";
  readonly bytes: number;
  constructor(what: string, bytes: number) {
    super(`wasm-slab: out of memory allocating ${what} (${bytes} bytes)`, ErrorCode.NOMEM);
    this.bytes = bytes;
  }
}

export type InvalidFreeReason = "not-ours" | "not-object" | "wrong-cache";

/** A free of a pointer that is not an allocated object of this cache. Nothing was freed. */
export class InvalidFreeError extends SlabError {
  override name = "InvalidFreeError";
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

/** Who allocated or freed an object last (caches with storeUser). */
export interface Track {
  /** The caller tag in force (heap.setCallerTag(); 0 by default). */
  tag: number;
  cpu: number;
  node: number;
  /** Logical time: the heap's debug clock, one tick per alloc or free of a debug cache. */
  clock: number;
  /** Host timestamp in force (heap.setTimestamp(); 0 unless set). */
  stamp: number;
}

/** An object's last alloc and free tracks (each absent until written, or when the cache keeps none). */
export interface Tracks {
  alloc?: Track;
  free?: Track;
}

export type ReportKind =
  | "red-zone"
  | "poison"
  | "double-free"
  | "invalid-free"
  | "slab-check"
  | "other";

/** One error the allocator detected, as passed to the onReport callback (C callers get the same through
 *  env.hook(HOOK_REPORT, code, ptr, cache) and last_error_*()). */
export interface DebugReport {
  code: number;
  kind: ReportKind;
  /** The cache's name (or `cache@0x…` for a cache the TS layer does not know). */
  cache: string;
  /** The object (or, for an invalid free, the pointer). */
  ptr: number;
  /** Offset of the bad byte from the object's start; negative in the left red zone (red-zone/poison). */
  offset: number;
  /** The byte found at `offset`, and the byte that should be there (red-zone/poison). */
  found: number;
  expected: number;
  tracks?: Tracks;
}

function fmtTracks(t?: Tracks): string {
  if (!t) return "";
  const one = (w: string, x?: Track) => (x ? ` ${w} by tag ${x.tag} on cpu ${x.cpu} at t=${x.clock}` : "");
  const s = one("allocated", t.alloc) + (t.alloc && t.free ? ";" : "") + one("freed", t.free);
  return s ? ` (last${s})` : "";
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** A free of an object that is already free. Nothing was changed. */
export class DoubleFreeError extends SlabError {
  override name = "DoubleFreeError";
  readonly ptr: number;
  readonly cache: string;
  readonly tracks?: Tracks;
  constructor(ptr: number, cache: string, tracks?: Tracks) {
    super(`wasm-slab: double free of 0x${ptr.toString(16)} in cache '${cache}'${fmtTracks(tracks)}`, ErrorCode.DOUBLE_FREE);
    this.ptr = ptr;
    this.cache = cache;
    this.tracks = tracks;
  }
}

/** A byte that a debug cache owns (red zone or poison) does not hold what it should. */
export abstract class BadByteError extends SlabError {
  override name = "BadByteError";
  readonly ptr: number;
  readonly cache: string;
  /** Offset of the first bad byte from the object's start (< 0: before the object). */
  readonly offset: number;
  readonly found: number;
  readonly expected: number;
  readonly tracks?: Tracks;
  constructor(what: string, code: number, ptr: number, cache: string, offset: number, found: number, expected: number, tracks?: Tracks) {
    super(
      `wasm-slab: ${what} ${hex(ptr)} in cache '${cache}': bad byte at offset ${offset} ` +
        `(found 0x${found.toString(16)}, expected 0x${expected.toString(16)})${fmtTracks(tracks)}`,
      code,
    );
    this.ptr = ptr;
    this.cache = cache;
    this.offset = offset;
    this.found = found;
    this.expected = expected;
    this.tracks = tracks;
  }
}

/** A red zone (guard bytes before or after an object) was overwritten. Found on free (the object is
 *  quarantined, not freed), on alloc of a free object (the alloc fails; the object is quarantined), or by
 *  validate. `offset` < 0 before the object, ≥ size after it. */
export class RedZoneError extends BadByteError {
  override name = "RedZoneError";
  readonly side: "left" | "right";
  constructor(ptr: number, cache: string, offset: number, found: number, expected: number, tracks?: Tracks) {
    const side = offset < 0 ? "left" : "right";
    super(`red zone ${side} of`, ErrorCode.REDZONE, ptr, cache, offset, found, expected, tracks);
    this.side = side;
  }
}

/** A free (poisoned) object was written to: a use after free. Found when the object is about to be
 *  handed out (the alloc fails; the object is quarantined) or by validate. */
export class PoisonError extends BadByteError {
  override name = "PoisonError";
  constructor(ptr: number, cache: string, offset: number, found: number, expected: number, tracks?: Tracks) {
    super("write after free of", ErrorCode.POISON, ptr, cache, offset, found, expected, tracks);
  }
}

/** A consistency check (cache flag CHECKS) found the slab of an object inconsistent. The object was
 *  quarantined; nothing else changed. */
export class SlabCheckError extends SlabError {
  override name = "SlabCheckError";
  readonly ptr: number;
  readonly cache: string;
  readonly tracks?: Tracks;
  constructor(ptr: number, cache: string, tracks?: Tracks) {
    super(`wasm-slab: the slab of ${hex(ptr)} in cache '${cache}' is inconsistent${fmtTracks(tracks)}`, ErrorCode.CORRUPT);
    this.ptr = ptr;
    this.cache = cache;
    this.tracks = tracks;
  }
}

/** An option or argument out of range (size, alignment, node, CPU, capacity...). */
export class InvalidArgumentError extends SlabError {
  override name = "InvalidArgumentError";
  constructor(message: string) {
    super(`wasm-slab: ${message}`, ErrorCode.INVALID);
  }
}

/** A live object named by CacheBusyError. */
export interface LiveObject {
  ptr: number;
  tracks?: Tracks;
}

/** cache.destroy() while objects are live. Nothing was freed. Names the first few live objects, with
 *  their tracks when the cache stores them. */
export class CacheBusyError extends SlabError {
  override name = "CacheBusyError";
  readonly cache: string;
  readonly live: number;
  readonly objects: readonly LiveObject[];
  /** Prefill handles of the cache not yet returned. */
  readonly handles: number;
  constructor(cache: string, live: number, objects: readonly LiveObject[] = [], handles = 0) {
    const list = objects.map((o) => hex(o.ptr) + fmtTracks(o.tracks)).join(", ");
    super(
      `wasm-slab: cannot destroy cache '${cache}': ${live} object(s) still allocated` +
        (list ? `; first: ${list}${objects.length < live ? ", ..." : ""}` : "") +
        (handles ? `; ${handles} prefill handle(s) not returned` : ""),
      ErrorCode.BUSY,
    );
    this.cache = cache;
    this.live = live;
    this.objects = objects;
    this.handles = handles;
  }
}

/** Use of a cache after destroy(). */
export class CacheDestroyedError extends SlabError {
  override name = "CacheDestroyedError";
  readonly cache: string;
  constructor(cache: string) {
    super(`wasm-slab: cache '${cache}' was destroyed`, ErrorCode.BAD_CACHE);
    this.cache = cache;
  }
}

/** validate() found an inconsistency (thrown by validate({ throw: true })). */
export class CorruptionError extends SlabError {
  override name = "CorruptionError";
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

/** The kind of a report, by code. */
export function reportKind(code: number): ReportKind {
  switch (code) {
    case ErrorCode.REDZONE:
      return "red-zone";
    case ErrorCode.POISON:
      return "poison";
    case ErrorCode.DOUBLE_FREE:
      return "double-free";
    case ErrorCode.NOT_OURS:
    case ErrorCode.NOT_OBJECT:
    case ErrorCode.WRONG_CACHE:
      return "invalid-free";
    case ErrorCode.CORRUPT:
      return "slab-check";
    default:
      return "other";
  }
}

/** Build the error for a report (a failed free or a failed debug alloc). */
export function reportError(r: DebugReport): SlabError {
  switch (r.code) {
    case ErrorCode.REDZONE:
      return new RedZoneError(r.ptr, r.cache, r.offset, r.found, r.expected, r.tracks);
    case ErrorCode.POISON:
      return new PoisonError(r.ptr, r.cache, r.offset, r.found, r.expected, r.tracks);
    case ErrorCode.CORRUPT:
      return new SlabCheckError(r.ptr, r.cache, r.tracks);
    case ErrorCode.DOUBLE_FREE:
      return new DoubleFreeError(r.ptr, r.cache, r.tracks);
    default:
      return freeError(r.code, r.ptr, r.cache);
  }
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
