// report.ts — the report path: the last error, its detail, and the host's report hook.
//
// Owns: H_LAST_ERROR, H_ERR_ADDR, H_ERR_CACHE and the error-detail bytes of the debug block
// (DB_ERR_OFFSET / DB_ERR_FOUND / DB_ERR_EXPECTED, DB_REPORTS), every cache's C_REPORTS counter, the
// import of env.hook (the one door to the host: constructors, destructors, shrinkers and reports go
// through it), and the test "is this a live cache header" (isCache). The codes (E_*) and hook ops
// (HOOK_*) are drawn in layout.ts.
// Entry points: setError() (any layer, any path; threaded build: per instance too), lastError(), checkFailed() (a byte check records what it found),
// debugReport() (any detected error: detail + env.hook(HOOK_REPORT)), freeFailed() (a refused free),
// hook(), isCache().
// Called by: every layer above page.ts. Calls nothing but the host.
//
// A report sets H_LAST_ERROR, H_ERR_ADDR (object), H_ERR_CACHE and the offset/found/expected bytes, then
// calls env.hook(HOOK_REPORT, code, object, cache) with no lock held and the heap consistent (the
// callback may re-enter), then writes the detail again (a re-entrant call may have overwritten it).
import {
  C_MAGIC, C_REPORTS, CACHE_MAGIC, DB_ERR_EXPECTED, DB_ERR_FOUND, DB_ERR_OFFSET, DB_REPORTS, E_POISON,
  E_REDZONE, H_DEBUG, H_ERR_ADDR, H_ERR_CACHE, H_LAST_ERROR, HOOK_REPORT,
} from "./layout";
import { HEAP, memoryEnd } from "./arena";
import { THREADED } from "./sync";

// The host: env.hook(op, a, b, c) for HOOK_CTOR / HOOK_DTOR / HOOK_SHRINK / HOOK_REPORT (layout.ts).
@external("env", "hook")
export declare function hook(op: i32, a: u32, b: u32, c: u32): i32;

// The last error: in the header (where the TS layer and C read it in a single-threaded heap) and, in the
// threaded build (sync.ts THREADED), per instance too: another Worker's error must not replace this one's.
let lastErr: i32 = 0;
@inline export function setError(code: i32): void {
  if (THREADED) lastErr = code;
  store<i32>(HEAP, code, H_LAST_ERROR);
}
export function lastError(): i32 {
  return THREADED ? lastErr : load<i32>(HEAP, H_LAST_ERROR);
}

@inline export function isCache(c: usize): bool {
  // A cache is the boot cache or an allocated object of it with the live magic.
  return c != 0 && c >= HEAP && load<u32>(c, C_MAGIC) == CACHE_MAGIC;
}

// Detail of the last byte check that failed (module scratch, copied into the heap header by debugReport).
let chkOffset: i32 = 0;
let chkFound: u8 = 0;
let chkExpected: u8 = 0;

// A byte check failed: the byte at `off` from the object's start was `found`, not `expected`. Returns
// `code` (E_REDZONE / E_POISON), whose report will carry this detail.
@inline export function checkFailed(code: i32, off: i32, found: u8, expected: u8): i32 {
  chkOffset = off;
  chkFound = found;
  chkExpected = expected;
  return code;
}

function writeDetail(code: i32, cache: usize, p: usize, off: i32, found: u8, expected: u8): void {
  setError(code);
  store<u32>(HEAP, <u32>p, H_ERR_ADDR);
  store<u32>(HEAP, <u32>cache, H_ERR_CACHE);
  const b = HEAP + H_DEBUG;
  store<i32>(b, off, DB_ERR_OFFSET);
  store<u8>(b, found, DB_ERR_FOUND);
  store<u8>(b, expected, DB_ERR_EXPECTED);
}

// Report an error about object (or pointer) p of `cache`, with the detail of the last failed check for
// E_REDZONE / E_POISON (0 otherwise). Returns `code`. No lock may be held: the host is called.
export function debugReport(code: i32, cache: usize, p: usize): i32 {
  let off: i32 = 0, found: u8 = 0, expected: u8 = 0;
  if (code == E_REDZONE || code == E_POISON) { off = chkOffset; found = chkFound; expected = chkExpected; }
  writeDetail(code, cache, p, off, found, expected);
  const b = HEAP + H_DEBUG;
  store<u32>(b, load<u32>(b, DB_REPORTS) + 1, DB_REPORTS);
  if (safeIsCache(cache)) store<u32>(cache, load<u32>(cache, C_REPORTS) + 1, C_REPORTS);
  hook(HOOK_REPORT, code, <u32>p, <u32>cache);
  writeDetail(code, cache, p, off, found, expected);
  return code;
}

// isCache for a handle that may be garbage (a C caller's): never reads past the end of memory.
function safeIsCache(c: usize): bool {
  return <u64>c + C_REPORTS + 4 < memoryEnd() && isCache(c);
}

// A failed free (any cache, any front end): the pointer was refused and nothing has changed. Report it
// and return the code.
export function freeFailed(cache: usize, ptr: usize, code: i32): i32 {
  return debugReport(code, cache, ptr);
}
