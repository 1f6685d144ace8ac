// hostile-cases.mjs — the hostile cases that run in a worker (test/hostile-harness.ts): every call that
// could hang, trap or corrupt the heap of the test process. Each case is `async (lib, arg, progress)`
// returning a JSON-able result that a test/hostile*.test.ts file checks; `lib` is dist/index.js.
//
// Helpers first (memory snapshots that ignore the error-detail fields a refused call may write, error
// names, distinctness checks), then the cases by class:
//   double frees (df*), re-entrancy (reenter*, cb*), the raw ABI with garbage handles (abi*), wild pointers
//   into metadata (wild*), lifecycle (life*), pressure (pressure*), modes (mode*), the fuzz (fuzz*).

// ---- helpers ------------------------------------------------------------------------------------------

/** The name of the error fn throws, or "none". */
export function errName(fn) {
  try {
    fn();
    return "none";
  } catch (e) {
    return e?.name ?? String(e);
  }
}

/** A copy of every byte from the heap header to the end of memory. */
export function snapshot(heap) {
  return new Uint8Array(heap.memory.buffer.slice(0));
}

/** Byte ranges a refused call may write: the error code and detail, report counters (heap and caches),
 *  and the validate report area. Everything else must be unchanged. */
function allowedRanges(heap) {
  const L = heap.L;
  const h = heap.hdr;
  const r = [
    [h + L.H_LAST_ERROR, 4],
    [h + L.H_ERR_ADDR, 8],
    [h + L.H_DEBUG, L.DEBUG_HDR_SIZE],
    [h + L.H_REPORT_COUNT, 4 + L.REPORT_MAX * L.REPORT_ENTRY],
  ];
  for (const c of heap.walkCaches()) r.push([c.addr + L.C_REPORTS, 4]);
  if (heap.stagingBuffer) r.push([heap.stagingBuffer, L.STAGE_BYTES]); // the TS layer's scratch for bulk calls
  return r;
}

/** Addresses that differ from the snapshot outside the allowed ranges (at most `max`), and whether memory
 *  grew. The TS layer's bulk staging buffers (objects of its "bulk-stage" cache) are its scratch. */
export function changedSince(heap, snap, max = 8) {
  const now = new Uint8Array(heap.memory.buffer);
  const allowed = allowedRanges(heap);
  const L = heap.L;
  const stageCache = heap.walkCaches().find((c) => c.name === "bulk-stage")?.addr;
  const chunkBase = heap.u32(heap.hdr + L.H_CHUNK_BASE);
  const inStage = (a) => {
    if (stageCache === undefined || a < chunkBase) return false;
    const chunk = chunkBase + Math.floor((a - chunkBase) / L.CHUNK_SIZE) * L.CHUNK_SIZE;
    const desc = chunk + Math.floor((a - chunk) / L.PAGE_SIZE) * L.DESC_SIZE;
    return desc + 4 <= now.length && heap.u32(desc + L.D_CACHE) === stageCache;
  };
  const ok = (a) => allowed.some(([s, n]) => a >= s && a < s + n) || inStage(a);
  const out = [];
  const n = Math.min(now.length, snap.length);
  for (let a = 0; a < n && out.length < max; a++) if (now[a] !== snap[a] && !ok(a)) out.push(a);
  return { changed: out, grew: now.length !== snap.length };
}

/** Take `n` objects from `alloc`, and say how many were distinct and how many collide with `live`. */
export function distinctAllocs(alloc, n, live = new Set()) {
  const seen = new Set();
  let clash = 0;
  for (let i = 0; i < n; i++) {
    const p = alloc();
    if (live.has(p)) clash++;
    seen.add(p);
  }
  return { n, distinct: seen.size, clash, ptrs: [...seen] };
}

function fill(heap, p, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) u8[p + i] = (seed + i * 31) & 0xff;
}

function intact(heap, p, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < size; i++) if (u8[p + i] !== ((seed + i * 31) & 0xff)) return false;
  return true;
}

// ---- double frees ---------------------------------------------------------------------------------------

/** A cache or malloc as one alloc/free pair of functions. */
function target(heap, kind, opts = {}) {
  if (kind === "malloc") return { alloc: () => heap.malloc(64), free: (p) => heap.free(p), size: 64 };
  const o = { size: 64, ...opts };
  if (kind === "ctor") o.ctor = () => {};
  if (kind === "reclaimable") o.reclaim = { destructor: () => {} };
  const c = heap.createCache(`df-${kind}`, o);
  return { cache: c, alloc: () => c.alloc(), free: (p) => c.free(p), size: c.size };
}

/** After a refused double free, the heap must still hand every object out once: alloc `n` more objects
 *  and check them against the live ones and against each other; then validate. */
function afterwards(heap, t, live, n) {
  const d = distinctAllocs(t.alloc, n, live);
  const v = heap.validate();
  return { distinct: d.distinct === n, clash: d.clash, validate: v.ok, problems: v.problems.slice(0, 3).map((p) => p.kind) };
}

export const cases = {
  // The issue's first example: 61 objects freed, the first freed again.
  async dfIssueDeep(lib, { inuse = false, kind = "cache" } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const t = target(heap, kind);
    const ptrs = [];
    for (let i = 0; i < 61; i++) ptrs.push(t.alloc());
    for (const p of ptrs) t.free(p);
    const err = errName(() => t.free(ptrs[0]));
    return { err, ...afterwards(heap, t, new Set(), 62) };
  },

  // K objects freed (main array, spare, barn, slabs by K), then every one of them freed again.
  async dfEveryFreed(lib, { k, inuse = false, kind = "cache", cpus = 1 }) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse, cpusPerNode: cpus });
    const t = target(heap, kind);
    const keep = [];
    for (let i = 0; i < 50; i++) keep.push(t.alloc()); // live objects that must never be handed out again
    const ptrs = [];
    for (let i = 0; i < k; i++) ptrs.push(t.alloc());
    for (const p of ptrs) t.free(p);
    const names = {};
    for (let i = 0; i < ptrs.length; i++) {
      if (cpus > 1) heap.pin(i % cpus); // from every CPU of the node
      const n = errName(() => t.free(ptrs[i]));
      names[n] = (names[n] ?? 0) + 1;
    }
    heap.pin(0);
    return { names, ...afterwards(heap, t, new Set(keep), k + 130) };
  },

  // An object freed to an alien array (freed on a CPU of another node), then freed again there.
  async dfAlien(lib, { inuse = false, kind = "cache" } = {}) {
    const heap = await lib.createAllocator({ reap: false, nodes: 2, inUseBits: inuse });
    const t = target(heap, kind);
    heap.pin(1);
    const p = t.alloc();
    const keep = new Set([t.alloc()]);
    heap.pin(0);
    t.free(p);
    const err = errName(() => t.free(p));
    heap.pin(1);
    const err2 = errName(() => t.free(p)); // and from its own node's CPU
    heap.reap(0);
    heap.reap(1);
    const a1 = afterwards(heap, t, keep, 200);
    heap.pin(0);
    const a0 = afterwards(heap, t, keep, 200);
    return { err, err2, distinct: a0.distinct && a1.distinct, clash: a0.clash + a1.clash, validate: a0.validate && a1.validate };
  },

  // The issue's second example: a back-to-back double free on a CPU of another node, one reap pass,
  // then 200 allocs (which hung).
  async dfAlienIssue(lib, { inuse = false } = {}) {
    const h = await lib.createAllocator({ nodes: 2, reap: false, inUseBits: inuse });
    const c = h.createCache("c", { size: 64 });
    const p = c.alloc();
    h.pin(1);
    c.free(p);
    const err = errName(() => c.free(p));
    h.reap(1);
    h.pin(0);
    const d = distinctAllocs(() => c.alloc(), 200);
    return { err, distinct: d.distinct === 200, validate: h.validate().ok };
  },

  // Objects the allocator holds that were never handed out: the rest of a refill batch in the main array.
  async dfNeverHandedOut(lib, { inuse = false, kind = "cache" } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const t = target(heap, kind);
    const p = t.alloc();
    const stride = kind === "malloc" ? 64 : t.cache.stride;
    const names = {};
    for (const q of [p - stride, p - 2 * stride, p - 5 * stride]) {
      const snap = snapshot(heap);
      const n = errName(() => t.free(q));
      names[n] = (names[n] ?? 0) + 1;
      if (changedSince(heap, snap).changed.length) names.changed = (names.changed ?? 0) + 1;
    }
    return { names, ...afterwards(heap, t, new Set([p]), 100) };
  },

  // Objects inside a prefill handle (never handed out) freed by the user.
  async dfPrefilled(lib, { inuse = false } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const c = heap.createCache("pf", { size: 64 });
    const w = heap.wasm;
    const s = w.cache_prefill(c.addr, 10);
    const inHandle = [];
    for (let i = 0; i < 10; i++) inHandle.push(heap.u32(s + 16 + 4 * i));
    const names = {};
    for (const q of inHandle.slice(0, 5)) {
      const n = errName(() => c.free(q));
      names[n] = (names[n] ?? 0) + 1;
    }
    const got = [];
    for (let p = w.prefilled_alloc(s); p !== 0; p = w.prefilled_alloc(s)) got.push(p);
    w.cache_return_prefilled(c.addr, s);
    const a = afterwards(heap, { alloc: () => c.alloc() }, new Set(got), 150);
    return { names, handle: got.length, ...a };
  },

  // realloc of a freed block (TS realloc, both paths: in place and moved) and the C realloc export.
  async dfRealloc(lib, { inuse = false, size = 24, to = 100, api = "ts" } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const p = heap.malloc(size);
    heap.malloc(size);
    heap.free(p);
    let err;
    if (api === "ts") err = errName(() => heap.realloc(p, to));
    else {
      const q = heap.wasm.realloc(p, to);
      err = q === 0 ? `code ${heap.wasm.last_error()}` : `returned 0x${q.toString(16)}`;
    }
    const d = distinctAllocs(() => heap.malloc(size), 100);
    const e = distinctAllocs(() => heap.malloc(to), 100);
    const all = new Set([...d.ptrs, ...e.ptrs]);
    return { err, distinct: d.distinct === 100 && e.distinct === 100 && all.size === 200 || (to <= size && all.size >= 100), validate: heap.validate().ok };
  },

  // A freeBulk naming an object parked in the CPU's array, and one naming the same object twice.
  async dfBulk(lib, { inuse = false } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const c = heap.createCache("b", { size: 64 });
    const ptrs = c.allocBulk(20);
    const keep = c.allocBulk(5);
    c.freeBulk(ptrs.subarray(0, 10));
    const snap = snapshot(heap);
    const parked = errName(() => c.freeBulk([ptrs[12], ptrs[3]]));
    const changed1 = changedSince(heap, snap).changed.length;
    const twice = errName(() => c.freeBulk([ptrs[12], ptrs[13], ptrs[12]]));
    const changed2 = changedSince(heap, snap).changed.length;
    return { parked, twice, changed: changed1 + changed2, ...afterwards(heap, { alloc: () => c.alloc() }, new Set([...keep, ...ptrs.subarray(10)]), 100) };
  },

  // C's free (the malloc ABI) of a block deep in an array: a report, last_error 5, nothing changed.
  async dfCFree(lib, { inuse = false } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: inuse });
    const w = heap.wasm;
    const ptrs = [];
    for (let i = 0; i < 40; i++) ptrs.push(w.malloc(32));
    for (const p of ptrs) w.free(p);
    const before = heap.reportCount;
    const snap = snapshot(heap);
    w.free(ptrs[0]);
    const code = w.last_error();
    const changed = changedSince(heap, snap).changed.length;
    const d = distinctAllocs(() => w.malloc(32), 60);
    return { code, reports: heap.reportCount - before, changed, distinct: d.distinct === 60, validate: heap.validate().ok };
  },

  // ---- re-entrancy ------------------------------------------------------------------------------------

  // The issue's example: a shrinker calls freeBulk while allocBulk runs under pressure.
  async reenterShrinkerBulk(lib) {
    const heap = await lib.createAllocator({ reap: false, maxBytes: 4 << 20 });
    const c = heap.createCache("big", { size: 512 });
    const other = heap.createCache("o", { size: 512 });
    let held = [];
    for (;;) {
      try {
        held.push(...other.allocBulk(100));
      } catch {
        break;
      }
    }
    heap.registerShrinker(() => {
      if (held.length === 0) return 0;
      const give = held.splice(0, 100);
      other.freeBulk(give);
      return other.shrink();
    });
    const got = [];
    for (;;) {
      try {
        got.push(...c.allocBulk(100));
      } catch {
        break;
      }
    }
    return { handed: got.length, distinct: new Set(got).size, validate: heap.validate().ok };
  },

  // onReport that throws: the failing call throws (once), the next unrelated call does not.
  async reenterReportThrows(lib) {
    const heap = await lib.createAllocator({ reap: false, onReport: () => { throw new Error("from onReport"); } });
    const c = heap.createCache("r", { size: 32 });
    const p = c.alloc();
    c.free(p);
    const first = errName(() => c.free(p + 1));
    const next = errName(() => c.alloc());
    const m = errName(() => heap.malloc(10));
    const cfree = (() => { heap.wasm.free(12345); return errName(() => c.alloc()); })(); // C report path
    const bulk = errName(() => c.freeBulk([p + 1]));
    const after = errName(() => heap.free(heap.malloc(20)));
    heap.wasm.free(12345); // a report from C, whose caller cannot be thrown to
    const cfreePending = heap.hookError !== undefined;
    const later = heap.createCache("later", { size: 16, ctor: () => {} });
    const ctorAlloc = errName(() => later.alloc()); // a checked call must not throw a stale exception
    return { first, next, m, cfree, bulk, after, cfreePending, ctorAlloc };
  },

  // A ctor that throws for some objects: the alloc that ran it throws; those objects are never handed out.
  async reenterCtorThrows(lib, { every = 200 } = {}) {
    const heap = await lib.createAllocator({ reap: false });
    const last = new Map(); // object → did its most recent constructor call throw?
    let n = 0;
    let threw = 0;
    const c = heap.createCache("ct", {
      size: 48,
      ctor: (p) => {
        const bad = ++n % every === 0;
        last.set(p, bad);
        if (bad) { threw++; throw new Error("ctor"); }
      },
    });
    const got = [];
    const errs = {};
    let handedBad = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        const p = c.alloc();
        if (last.get(p) !== false) handedBad++; // handed out although its constructor threw (or never ran)
        got.push(p);
      } catch (e) {
        errs[e.name] = (errs[e.name] ?? 0) + 1;
      }
      if (i % 3 === 0 && got.length) c.free(got.splice(Math.floor(got.length / 2), 1)[0]);
    }
    let bulkBad = 0;
    try {
      for (const p of c.allocBulk(500)) if (last.get(p) !== false) bulkBad++;
    } catch (e) {
      errs[`bulk ${e.name}`] = 1;
    }
    return { errs, badSeen: threw, handedBad, bulkBad, validate: heap.validate().ok };
  },

  // A ctor that destroys its own cache: the alloc fails cleanly, and no slab is left behind.
  async reenterCtorDestroys(lib) {
    const heap = await lib.createAllocator({ reap: false });
    let c;
    let destroyErr = "not called";
    c = heap.createCache("self", { size: 64, ctor: () => { if (destroyErr === "not called") destroyErr = errName(() => c.destroy()); } });
    const allocErr = errName(() => c.alloc());
    const v = heap.validate();
    heap.shrink();
    const s = heap.stats();
    const slabPages = s.slabPages.reduce((a, b) => a + b, 0);
    let accounted = 0;
    for (const x of heap.walkCaches()) {
      const L = heap.L;
      let slabs = 0;
      for (let n = 0; n < heap.nodes; n++) {
        const cn = x.addr + L.C_HDR + n * L.CN_SIZE;
        slabs += heap.u32(cn + L.CN_NR_PARTIAL) + heap.u32(cn + L.CN_NR_FULL) + heap.u32(cn + L.CN_NR_EMPTY);
      }
      accounted += slabs << heap.u32(x.addr + L.C_ORDER);
    }
    return { destroyErr, allocErr, validate: v.ok, orphanPages: slabPages - accounted, destroyed: c.destroyed };
  },

  // A callback (ctor, destructor, shrinker, onReport) that calls API `api` while the allocator works.
  async cbReenter(lib, { cb, api }) {
    let heap;
    const apis = {
      alloc: (ctx) => { ctx.live.push([ctx.other, ctx.other.alloc()]); },
      free: (ctx) => { const x = ctx.live.pop(); if (x) x[0].free(x[1]); },
      allocBulk: (ctx) => { for (const p of ctx.other.allocBulk(40)) ctx.live.push([ctx.other, p]); },
      freeBulk: (ctx) => { const xs = ctx.live.splice(0, 40).filter((x) => x[0] === ctx.other).map((x) => x[1]); ctx.other.freeBulk(xs); },
      prefill: (ctx) => { const h = ctx.other.prefill(5); ctx.live.push([ctx.other, h.alloc()]); ctx.other.returnPrefilled(h); },
      createDestroy: () => { const x = heap.createCache("tmp", { size: 40 }); x.free(x.alloc()); x.destroy(); },
      shrink: () => { heap.shrink(); },
      reap: () => { heap.reap(); },
      validate: (ctx) => { if (!heap.validate().ok) ctx.invalid++; },
      malloc: (ctx) => { ctx.mallocs.push(heap.malloc(100)); if (ctx.mallocs.length > 3) heap.free(ctx.mallocs.shift()); },
      stats: () => { heap.stats(); heap.slabinfo(); },
      tune: (ctx) => { ctx.other.tune({ arrayCapacity: 7 }); ctx.other.tune({ arrayCapacity: 30 }); },
    };
    const ctx = { live: [], mallocs: [], invalid: 0, calls: 0, errors: {} };
    const run = () => {
      if (ctx.inside) return; // one level of nesting is enough (and a callback can trigger itself)
      ctx.inside = true;
      ctx.calls++;
      try {
        apis[api](ctx);
      } catch (e) {
        ctx.errors[e.name] = (ctx.errors[e.name] ?? 0) + 1;
      } finally {
        ctx.inside = false;
      }
    };
    heap = await lib.createAllocator({ reap: false, maxBytes: cb === "shrinker" ? 6 << 20 : undefined, onReport: cb === "onReport" ? run : undefined });
    ctx.other = heap.createCache("other", { size: 72 });
    let main;
    if (cb === "ctor") main = heap.createCache("main", { size: 96, ctor: () => run() });
    else if (cb === "destructor") main = heap.createCache("main", { size: 96, reclaim: { destructor: (p) => { run(); heap.u8[p] = 0; heap.u8.fill(0, p, p + 4); } } });
    else main = heap.createCache("main", { size: 96 });
    if (cb === "shrinker") heap.registerShrinker(() => { run(); return 0; });
    const mine = [];
    const seeds = new Map();
    let s = 1;
    const take = (n) => {
      for (let i = 0; i < n; i++) {
        let p;
        try {
          p = main.alloc();
        } catch (e) {
          ctx.errors[`main ${e.name}`] = (ctx.errors[`main ${e.name}`] ?? 0) + 1;
          return false;
        }
        if (seeds.has(p)) ctx.errors.twice = (ctx.errors.twice ?? 0) + 1;
        seeds.set(p, ++s & 0xff);
        fill(heap, p + 4, 92, s & 0xff);
        mine.push(p);
      }
      return true;
    };
    for (let round = 0; round < 6; round++) {
      take(300);
      if (cb === "onReport") {
        for (let i = 0; i < 5; i++) errName(() => main.free(mine[0] + 1)); // each report runs the API
      }
      if (cb === "destructor") {
        for (const p of mine.slice(0, 150)) heap.dv.setUint32(p, 1, true); // unused but cached
        for (const p of mine.slice(0, 150)) seeds.delete(p);
        mine.splice(0, 150);
        main.reclaim();
      }
      for (const p of mine.splice(0, 100)) {
        if (!intact(heap, p + 4, 92, seeds.get(p))) ctx.errors.payload = (ctx.errors.payload ?? 0) + 1;
        seeds.delete(p);
        main.free(p);
      }
    }
    if (cb === "shrinker") {
      // pressure: allocate until out of memory (the shrinker runs), then everything back
      for (let i = 0; i < 200 && take(500); i++);
      ctx.errors[`main OutOfMemoryError`] = 0; // expected here: counted only outside this phase
      for (const p of mine.splice(0)) {
        if (!intact(heap, p + 4, 92, seeds.get(p))) ctx.errors.payload = (ctx.errors.payload ?? 0) + 1;
        seeds.delete(p);
        main.free(p);
      }
      take(2000);
    }
    for (const p of mine) if (!intact(heap, p + 4, 92, seeds.get(p))) ctx.errors.payload = (ctx.errors.payload ?? 0) + 1;
    const others = ctx.live.filter((x) => x[0] === ctx.other).map((x) => x[1]);
    const v = heap.validate();
    return { calls: ctx.calls, errors: ctx.errors, invalid: ctx.invalid, distinctOther: new Set(others).size === others.length, validate: v.ok, problems: v.problems.slice(0, 3).map((p) => p.kind) };
  },

  // ---- lifecycle --------------------------------------------------------------------------------------

  // destroy() while a prefill handle is out: CacheBusyError (nothing changed), or the handle's objects
  // come back. Either way no page stays lost once the handle is returned (or refused).
  async lifePrefillDestroy(lib, { take = 1 } = {}) {
    const heap = await lib.createAllocator({ reap: false });
    const slab = () => heap.stats().slabPages.reduce((a, b) => a + b, 0);
    const sheafLive = () => heap.walkCaches().filter((x) => x.name.startsWith("sheaf-")).reduce((a, x) => a + heap.wasm.cache_live(x.addr), 0);
    // the baseline: the same cache made, used and destroyed without a handle
    const base = heap.createCache("base", { size: 128 });
    base.free(base.alloc());
    base.destroy();
    heap.shrink();
    const before = { slab: slab(), sheaves: sheafLive() };
    const c = heap.createCache("pd", { size: 128 });
    const h = c.prefill(20);
    const ps = [];
    for (let i = 0; i < take; i++) ps.push(h.alloc());
    for (const p of ps) c.free(p);
    const destroyErr = errName(() => c.destroy());
    const returnErr = errName(() => c.returnPrefilled(h));
    const again = c.destroyed ? "destroyed" : errName(() => c.destroy());
    heap.shrink();
    const after = { slab: slab(), sheaves: sheafLive() };
    return { destroyErr, returnErr, again, destroyed: c.destroyed, before, after, validate: heap.validate().ok };
  },

  // Every call on a destroyed cache is CacheDestroyedError; a destroyed handle's prefill is refused.
  async lifeAfterDestroy(lib) {
    const heap = await lib.createAllocator({ reap: false });
    const c = heap.createCache("gone", { size: 40 });
    const p = c.alloc();
    c.free(p);
    c.destroy();
    const calls = {
      alloc: () => c.alloc(), free: () => c.free(p), allocNode: () => c.allocNode(0), allocBulk: () => c.allocBulk(3),
      freeBulk: () => c.freeBulk([p]), prefill: () => c.prefill(2), shrink: () => c.shrink(), stats: () => c.stats(),
      destroy: () => c.destroy(), tune: () => c.tune({ arrayCapacity: 4 }), live: () => c.live,
    };
    const out = {};
    for (const [k, f] of Object.entries(calls)) out[k] = errName(f);
    return { out, validate: heap.validate().ok };
  },

  // 10,000 caches created and destroyed (some with objects, ctors, debug): memory does not grow, the cache
  // list is back to its start, and validate is clean.
  async lifeManyCaches(lib, { n = 10000 } = {}) {
    const heap = await lib.createAllocator({ reap: false });
    const grownAfter = [];
    const startCaches = heap.caches().length;
    for (let i = 0; i < n; i++) {
      const c = heap.createCache(`c${i}`, { size: 8 + (i % 50) * 8, ctor: i % 7 === 0 ? () => {} : undefined, debug: i % 11 === 0 });
      const ps = [c.alloc(), c.alloc()];
      for (const q of ps) c.free(q);
      if (i % 3 === 0) { const b = c.allocBulk(10); c.freeBulk(b); }
      c.destroy();
      if (i % 2000 === 1999) { heap.shrink(); grownAfter.push(heap.stats().bytesGrown); }
    }
    return { grownAfter, caches: heap.caches().length - startCaches, validate: heap.validate().ok };
  },

  // A returned handle and a handle of another cache are refused; a handle used after its return throws.
  async lifeHandles(lib) {
    const heap = await lib.createAllocator({ reap: false });
    const a = heap.createCache("a", { size: 32 });
    const b = heap.createCache("b", { size: 32 });
    const h = a.prefill(3);
    const wrong = errName(() => b.returnPrefilled(h));
    a.returnPrefilled(h);
    const twice = errName(() => a.returnPrefilled(h));
    const use = errName(() => h.alloc());
    return { wrong, twice, use, validate: heap.validate().ok, live: a.live + b.live };
  },

  // ---- pressure -------------------------------------------------------------------------------------

  // Out of memory by every route, with shrinkers that throw or return nonsense: each failure is clean
  // (OutOfMemoryError, nothing handed out twice), and after freeing everything the heap works again.
  async pressureAll(lib, { shrinker = "none" } = {}) {
    const heap = await lib.createAllocator({ reap: false, maxBytes: 3 << 20 });
    const shrinkers = {
      none: null,
      throws: () => { throw new Error("shrinker"); },
      nan: () => NaN,
      negative: () => -5,
      huge: () => 1e12,
      string: () => "lots",
    };
    if (shrinkers[shrinker]) heap.registerShrinker(shrinkers[shrinker]);
    const c = heap.createCache("p", { size: 256 });
    const held = new Map(); // object → "cache" or "malloc"
    const errs = {};
    let twice = 0;
    const note = (e) => { errs[e.name] = (errs[e.name] ?? 0) + 1; };
    const add = (p, by = "cache") => { if (held.has(p)) twice++; held.set(p, by); };
    const routes = [
      () => add(c.alloc()),
      () => { for (const p of c.allocBulk(300)) add(p); },
      () => { const h = c.prefill(100); for (let i = 0; i < 100; i++) add(h.alloc()); c.returnPrefilled(h); },
      () => add(heap.malloc(200), "malloc"),
      () => add(heap.malloc(50000), "malloc"),
      () => add(heap.malloc(2 << 20), "malloc"),
      () => heap.createCache("x", { size: 100 }),
    ];
    const firstFail = [];
    for (const r of routes) {
      let failed = false;
      for (let i = 0; i < 20000 && !failed; i++) {
        try { r(); } catch (e) { note(e); failed = true; }
      }
      firstFail.push(failed);
    }
    const v1 = heap.validate().ok;
    const late = {};
    for (const [p, by] of held) {
      try {
        if (by === "cache") c.free(p);
        else heap.free(p);
      } catch (e) {
        late[e.name] = (late[e.name] ?? 0) + 1; // a free must not throw a shrinker's stale exception
      }
    }
    heap.shrink();
    let works = true;
    try {
      const b = c.allocBulk(1000);
      c.freeBulk(b);
      heap.free(heap.malloc(100000));
    } catch (e) {
      works = `${e.name}`;
    }
    return { errs, late, twice, firstFail, validateFull: v1, works, validate: heap.validate().ok };
  },

  // ---- modes ------------------------------------------------------------------------------------------

  // inUseBits (and debug) hold for malloc: every valid free of fresh blocks is accepted, double frees refused.
  async modeMallocInuse(lib, { mode = "inuse" } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: mode === "inuse", debug: mode === "debug" });
    const sizes = [1, 8, 16, 24, 40, 64, 100, 128, 200, 256, 500, 1000, 2000, 4000, 8000, 9000, 20000, 100000, 600000, 2000000];
    const errs = {};
    let accepted = 0;
    for (const n of sizes) {
      const ps = [];
      for (let i = 0; i < 3; i++) ps.push(heap.malloc(n));
      for (const p of ps) {
        const e = errName(() => heap.free(p));
        if (e === "none") accepted++;
        else errs[`free ${n}: ${e}`] = 1;
      }
      const e2 = errName(() => heap.free(ps[0]));
      if (e2 !== "DoubleFreeError") errs[`double free ${n}: ${e2}`] = 1;
    }
    return { frees: sizes.length * 3, accepted, errs, validate: heap.validate().ok };
  },

  // alignedAlloc(a, n) is a-aligned for every a and n, in every mode.
  async modeAligned(lib, { mode = "default" } = {}) {
    const heap = await lib.createAllocator({ reap: false, inUseBits: mode === "inuse", debug: mode === "debug" });
    const bad = [];
    for (const a of [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]) {
      for (const n of [1, 8, 24, 100, 1000, 4096, 8000, 8192, 10000, 70000]) {
        let p;
        try {
          p = heap.alignedAlloc(a, n);
        } catch (e) {
          bad.push(`${a},${n}: ${e.name}`);
          continue;
        }
        if (p % a !== 0) bad.push(`${a},${n}: 0x${p.toString(16)}`);
        else if (heap.usableSize(p) < n) bad.push(`${a},${n}: usable ${heap.usableSize(p)}`);
        heap.free(p);
      }
    }
    return { bad, validate: heap.validate().ok };
  },

  // The C import object offers what the README tells C callers to use.
  async modeImports(lib) {
    const heap = await lib.createAllocator({ reap: false });
    const imp = heap.imports();
    const want = ["malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign", "malloc_usable_size",
      "last_error", "last_error_addr", "last_error_cache", "last_error_offset", "last_error_found", "last_error_expected"];
    const missing = want.filter((k) => typeof imp.wasm_slab[k] !== "function" || typeof imp.env[k] !== "function");
    imp.env.free(12345);
    const code = missing.includes("last_error") ? -1 : imp.env.last_error();
    const addr = missing.includes("last_error_addr") ? -1 : imp.env.last_error_addr();
    return { missing, code, addr };
  },

  // A heap whose base is above 2 GiB: every pointer is a positive number above 2^31 and works.
  async highHeap(lib) {
    const heap = await lib.createAllocator({ reap: false, heapBase: 2 ** 31 + 65536 });
    const c = heap.createCache("hi", { size: 64 });
    const ps = [c.alloc(), heap.malloc(100), heap.malloc(50000), ...c.allocBulk(5)];
    const positive = ps.every((p) => p > 2 ** 31 && p < 2 ** 32);
    let freed = true;
    try {
      c.free(ps[0]);
      heap.free(ps[1]);
      heap.free(ps[2]);
      c.freeBulk(ps.slice(3));
    } catch {
      freed = false;
    }
    return { positive, validate: heap.validate().ok, freed };
  },

  // ---- the fuzz -----------------------------------------------------------------------------------------

  // The mixed valid/invalid workload (hostile-workload.mjs): payloads and validate() every phase.
  async fuzzMix(lib, { seed, ops, phase, skip }, progress) {
    const { runWorkload } = await import("./hostile-workload.mjs");
    return runWorkload(lib, { seed, ops, phase, skip, onPhase: (c) => progress({ ops: c.ops, phases: c.phases }) });
  },

  // fast-check model-based commands (hostile-model.mjs): a failing sequence is shrunk to its core.
  async fuzzModel(lib, { seed, numRuns, maxCommands }, progress) {
    const { checkModel } = await import("./hostile-model.mjs");
    return checkModel(lib, { seed, numRuns, maxCommands, progress });
  },

  // ---- the raw ABI with garbage handles ------------------------------------------------------------

  // Every call of export `fn` with each garbage handle (or pointer), each on a fresh heap: no trap, no
  // hang (the harness times out), and no byte changed outside the error detail. Returns the calls that
  // misbehaved.
  async abiGarbage(lib, { fn }, progress) {
    const bad = [];
    for (const label of GARBAGE_LABELS) {
      progress(`${fn}(${label})`);
      const env = await abiHeap(lib);
      const h = env.handles[label];
      const call = ABI_CALLS[fn];
      if (fn === "cache_free_bulk") env.heap.dv.setUint32(env.stage, env.live[2], true);
      const out = OUTPUT_CALLS[fn];
      if (fn === "realloc" && label === "0") continue; // realloc(0, n) is malloc(n)
      // an output pointer into the caller's own memory (below the heap base, or a block it holds) is the
      // call's job, not garbage
      if (out && CALLER_MEMORY.has(label)) continue;
      const snap = snapshot(env.heap);
      let outcome = "ok";
      try {
        call(env, h);
      } catch (e) {
        outcome = `${e.name}: ${e.message}`;
      }
      const { changed, grew } = changedSince(env.heap, snap, 4);
      if (outcome !== "ok" || changed.length || grew) bad.push({ call: `${fn}(${label})`, outcome, changed: changed.map((a) => a.toString(16)), grew });
    }
    return { calls: GARBAGE_LABELS.length, bad };
  },

  // ---- wild pointers into every metadata region ---------------------------------------------------------

  // Every pointer kind given to free-like entry point `via`: a typed error (or a C report), nothing changed.
  async wild(lib, { via }, progress) {
    const bad = [];
    const env = await abiHeap(lib);
    const { heap } = env;
    env.c.freeBulk([]); // the TS layer's first bulk call makes its staging buffer: not part of any case
    for (const [label, p] of Object.entries(env.wild)) {
      progress(`${via}(${label})`);
      const snap = snapshot(heap);
      let outcome;
      try {
        outcome = WILD_VIA[via](env, p);
      } catch (e) {
        outcome = e.name;
      }
      const { changed, grew } = changedSince(heap, snap, 4);
      const typed = ["InvalidFreeError", "DoubleFreeError", "InvalidArgumentError", "reported"].includes(outcome);
      if (!typed || changed.length || grew) bad.push({ ptr: label, outcome, changed: changed.map((a) => a.toString(16)) });
    }
    const v = heap.validate();
    return { pointers: Object.keys(env.wild).length, bad, validate: v.ok };
  },
};

// ---- garbage handles and wild pointers ---------------------------------------------------------------

const GARBAGE_LABELS = [
  "0", "1", "3", "64", "header", "header+4", "boot cache", "kmalloc cache", "sheaf cache", "sheaf",
  "user object", "forged cache", "destroyed cache", "live cache+4", "chunk descriptor", "memory end-4",
  "memory end", "2^31", "0xfffffffc", "0xffffffff", "returned handle", "copied header", "below chunk base",
  "last chunk end-64", "memory end-64", "memory end+64",
];

/** A heap with one of everything: a user cache with live and parked objects, a malloc block, a prefill
 *  handle, a destroyed cache, a forged cache (a user object holding the cache magic), and the labels
 *  above resolved to addresses (`handles`) and wild pointers for free-like calls (`wild`). */
async function abiHeap(lib) {
  const heap = await lib.createAllocator({ reap: false, nodes: 2 });
  const w = heap.wasm;
  const L = heap.L;
  const c = heap.createCache("victim", { size: 200 });
  const big = heap.createCache("many", { size: 16 }); // > 64 objects: a bitmap inside the slab
  const live = [];
  for (let i = 0; i < 30; i++) live.push(c.alloc());
  for (let i = 0; i < 10; i++) c.free(live.pop());
  const small = big.alloc();
  const m = heap.malloc(40);
  const large = heap.malloc(20000);
  const huge = heap.malloc(3 << 20);
  heap.free(heap.malloc(4000)); // a kmalloc class cache (kmalloc-4096: never a cold class, kmalloc.ts lend)
  const dead = heap.createCache("dead", { size: 24 });
  dead.destroy();
  const forged = c.alloc();
  heap.u8.fill(0x11, forged, forged + 200);
  heap.dv.setUint32(forged, 0x4b4d4321, true); // CACHE_MAGIC
  // a user object carrying a live cache's whole header, C_SELF set to its own address: only the page
  // descriptor (not a boot-cache page) tells it from a kmem_cache
  const copied = c.alloc();
  heap.u8.copyWithin(copied, c.addr, c.addr + L.C_HDR);
  heap.dv.setUint32(copied + L.C_SELF, copied, true);
  const stage = heap.stage();
  heap.stagingBuffer = stage;
  const prefill = w.cache_prefill(c.addr, 4); // a raw handle (a sheaf the caller holds)
  const returned = w.cache_prefill(c.addr, 3); // a handle given back: a stale handle now
  w.cache_return_prefilled(c.addr, returned);
  const sheaf = heap.u32(c.addr + heap.u32(heap.hdr + L.H_CPU_OFF) + L.CC_MAIN); // CPU 0's main array
  const kmCache = heap.walkCaches().find((x) => x.name.startsWith("kmalloc-"))?.addr ?? 0;
  const sheafCache = heap.walkCaches().find((x) => x.name.startsWith("sheaf-"))?.addr ?? 0;
  const chunkBase = heap.u32(heap.hdr + L.H_CHUNK_BASE);
  const end = heap.memory.buffer.byteLength;
  const handles = {
    "0": 0, "1": 1, "3": 3, "64": 64, header: heap.hdr, "header+4": heap.hdr + 4, "boot cache": heap.hdr + L.H_BOOT,
    "kmalloc cache": kmCache, "sheaf cache": sheafCache, sheaf, "user object": live[0], "forged cache": forged,
    "destroyed cache": dead.addr, "live cache+4": c.addr + 4, "chunk descriptor": chunkBase + 2 * 32,
    "memory end-4": end - 4, "memory end": end, "2^31": 2 ** 31, "0xfffffffc": 0xfffffffc, "0xffffffff": 0xffffffff,
    "returned handle": returned, "copied header": copied, "below chunk base": (heap.u32(heap.hdr + L.H_PRE_LO) || chunkBase) - 64, // below the pre-chunk region too
    // cache-line aligned, in the last grown chunk with its header crossing the chunk's end
    "last chunk end-64": chunkBase + heap.u32(heap.hdr + L.H_NCHUNKS) * (1 << 20) - 64,
    "memory end-64": end - 64, "memory end+64": end + 64,
  };
  const d = heap.hdr;
  const wild = {
    "below heap base": Math.max(8, d - 64), "heap header": d, "chunk table": d + L.H_CHUNK_TABLE, "debug block": d + L.H_DEBUG,
    "boot cache": d + L.H_BOOT, "a kmem_cache": c.addr, "cache header field": c.addr + L.C_FLAGS,
    "chunk header": chunkBase, "page descriptor": chunkBase + 5 * 32, "descriptor page 1": chunkBase + 4096,
    "in-slab bitmap": small & ~4095, "object + 1": live[0] + 1, "object middle": live[0] + 100, "object last byte": live[0] + 199,
    "past last object": (live[0] & ~4095) + 4095, "sheaf (internal object)": sheaf, "staging buffer": stage,
    "prefill handle": prefill, "object in a prefill handle": heap.u32(prefill + 16), "large block + 8": large + 8,
    "large block tail page": large + 4096, "huge run + 4096": huge + 4096, "huge run second chunk": huge + (1 << 20) + 64,
    "free page": freePage(heap), "unused chunk area": chunkBase + heap.u32(d + L.H_NCHUNKS) * (1 << 20) - 4096,
    "beyond memory": end + 4096, "2^31": 2 ** 31, "0xfffffff0": 0xfffffff0, "malloc block + 4": m + 4,
    "other cache's object": small,
  };
  return { heap, w, L, c, big, live, small, m, large, huge, dead, forged, stage, prefill, handles, wild };
}

function freePage(heap) {
  // a page-aligned address in a free page run: take a large block and free it
  const p = heap.malloc(40000);
  heap.free(p);
  return p;
}

const ABI_CALLS = {
  cache_destroy: (e, h) => e.w.cache_destroy(h),
  cache_alloc: (e, h) => e.w.cache_alloc(h),
  cache_alloc_node: (e, h) => e.w.cache_alloc_node(h, 1),
  cache_free: (e, h) => e.w.cache_free(h, e.live[1]),
  cache_valid: (e, h) => e.w.cache_valid(h),
  cache_live: (e, h) => e.w.cache_live(h),
  cache_parked: (e, h) => e.w.cache_parked(h),
  cache_drain: (e, h) => e.w.cache_drain(h),
  cache_tune: (e, h) => e.w.cache_tune(h, 5),
  cache_prefill: (e, h) => e.w.cache_prefill(h, 4),
  prefilled_alloc: (e, h) => e.w.prefilled_alloc(h),
  prefilled_count: (e, h) => e.w.prefilled_count(h),
  cache_return_prefilled: (e, h) => e.w.cache_return_prefilled(h, 0),
  cache_return_prefilled_handle: (e, h) => e.w.cache_return_prefilled(e.c.addr, h),
  cache_alloc_bulk: (e, h) => e.w.cache_alloc_bulk(h, e.stage, 4),
  cache_alloc_bulk_dst: (e, h) => e.w.cache_alloc_bulk(e.c.addr, h, 4),
  cache_free_bulk: (e, h) => e.w.cache_free_bulk(h, e.stage, 1),
  cache_free_bulk_src: (e, h) => e.w.cache_free_bulk(e.c.addr, h, 4),
  debug_track: (e, h) => e.w.debug_track(h, e.live[1], 0),
  cache_quarantined: (e, h) => e.w.cache_quarantined(h),
  cache_live_at: (e, h) => e.w.cache_live_at(h, 0),
  cache_shrink: (e, h) => e.w.cache_shrink(h),
  cache_reclaim: (e, h) => e.w.cache_reclaim(h, 1),
  reclaim_free: (e, h) => e.w.reclaim_free(h, e.live[1]),
  object_check: (e, h) => e.w.object_check(h, e.live[1]),
  node_of: (e, h) => e.w.node_of(h),
  free: (e, h) => e.w.free(h),
  realloc: (e, h) => e.w.realloc(h, 100),
  malloc_usable_size: (e, h) => e.w.malloc_usable_size(h),
  posix_memalign: (e, h) => e.w.posix_memalign(h, 64, 100),
};

/** Garbage labels that are memory the caller owns (below the heap base, or live objects it holds). */
const CALLER_MEMORY = new Set(["1", "3", "64", "user object", "forged cache", "copied header"]);

/** Calls whose argument is an output pointer, and the bytes they write there. */
const OUTPUT_CALLS = { cache_alloc_bulk_dst: 16, posix_memalign: 4 };

const WILD_VIA = {
  "cache.free": (e, p) => (e.c.free(p), "none"),
  "cache.freeBulk": (e, p) => (e.c.freeBulk([p]), "none"),
  "heap.free": (e, p) => (e.heap.free(p), "none"),
  "heap.realloc": (e, p) => (e.heap.realloc(p, 64), "none"),
  "heap.usableSize": (e, p) => (e.heap.usableSize(p), "none"),
  "C free": (e, p) => {
    const before = e.heap.reportCount;
    e.w.free(p);
    return e.heap.reportCount > before ? "reported" : `none (code ${e.w.last_error()})`;
  },
  "C realloc": (e, p) => {
    const before = e.heap.reportCount;
    const q = e.w.realloc(p, 64);
    return q === 0 && e.heap.reportCount > before ? "reported" : `returned ${q}`;
  },
  "C malloc_usable_size": (e, p) => {
    const before = e.heap.reportCount;
    const n = e.w.malloc_usable_size(p);
    return n === 0 && e.heap.reportCount > before ? "reported" : `returned ${n}`;
  },
};

export const ABI_FNS = Object.keys(ABI_CALLS);
export const WILD_VIAS = Object.keys(WILD_VIA);
