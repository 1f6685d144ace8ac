// hostile-workload.mjs — a seeded random workload that mixes every invalid class with valid work, for the
// fuzz test (test/hostile-fuzz.test.ts, in a worker) and the soak run (bench/soak.mjs, `npm run soak`).
//
// Valid work: alloc / allocNode / free / allocBulk / freeBulk / prefill (take, return) on several caches
// (array capacities 0, small and default; a ctor cache; a reclaimable cache with reclaim passes; a debug
// cache), malloc / calloc / realloc / free / alignedAlloc of small, large and huge blocks, pin to every CPU
// of 2 nodes, shrink, reap, cache create/destroy. Every object holds a payload derived from a seed, checked
// before it is freed and in every check phase.
// Invalid work, each expecting its typed error and nothing changed: double frees of recently freed
// objects, frees of wild pointers (metadata, interiors, other caches' objects, past memory), malformed
// arguments, a bulk free with one bad pointer inside, calls on a destroyed cache, returned prefill
// handles, garbage handles at the raw ABI, C frees of bad pointers (a report).
// Every `phase` operations: validate() and every live payload.
//
// runWorkload(lib, { seed, ops, phase, onPhase, skip }) → counts (skip: action names left out); throws an Error naming the op on a violation.

// The generator of test/rng.ts (mulberry32), from the CLI's plain-JS copy: the soak run loads this file
// without a TypeScript loader.
import { rng as mulberry } from "../cli/lib/workload.mjs";

const INVALID_FREE = new Set(["InvalidFreeError", "DoubleFreeError"]);
const INVALID_ACTIONS = new Set(["double free", "wild free", "wrong cache", "malformed", "bad bulk", "destroyed", "C bad free"]);

export async function runWorkload(lib, { seed = 1, ops = 100000, phase = 5000, onPhase, skip = [] } = {}) {
  const rand = mulberry(seed);
  const int = (n) => Math.floor(rand() * n);
  const pick = (xs) => xs[int(xs.length)];
  const heap = await lib.createAllocator({ reap: false, nodes: 2, cpusPerNode: 2, maxBytes: 48 << 20, onOutOfMemory: "throw" });
  const counts = { ops: 0, valid: 0, invalid: 0, oom: 0, phases: 0, live: 0, peakLive: 0, destroyed: 0 };
  const byClass = {};
  const live = new Map(); // ptr → { owner, size, seed }
  const freed = []; // recently freed pointers (their owner) for double frees
  let opName = "";
  const fail = (msg) => {
    let v = "";
    try {
      const r = heap.validate();
      v = r.ok ? "; validate ok" : `; validate: ${JSON.stringify(r.problems.slice(0, 3))}`;
    } catch (e) {
      v = `; validate threw ${e}`;
    }
    throw new Error(`seed ${seed}, op ${counts.ops} (${opName}): ${msg}${v}`);
  };
  const u8 = () => heap.u8;
  const fillP = (p, size, s) => {
    const m = u8();
    const n = Math.min(size, 64); // the first 64 bytes carry the pattern
    for (let i = 0; i < n; i++) m[p + i] = (s + i * 7) & 0xff;
  };
  const checkP = (p, size, s, off = 0) => {
    const m = u8();
    const n = Math.min(size, 64);
    for (let i = off; i < n; i++) if (m[p + i] !== ((s + i * 7) & 0xff)) fail(`payload of 0x${p.toString(16)} changed at byte ${i}`);
  };
  const add = (owner, p, size) => {
    if (live.has(p)) fail(`0x${p.toString(16)} handed out twice (${owner.name})`);
    const s = int(256);
    // a reclaimable cache's first u32 is its count: the payload starts after it
    const off = owner.reclaim ? 4 : 0;
    fillP(p + off, size - off, s);
    live.set(p, { owner, size: size - off, seed: s, off });
    counts.live = live.size;
    if (live.size > counts.peakLive) counts.peakLive = live.size;
  };
  const forget = (p) => {
    const b = live.get(p);
    checkP(p + b.off, b.size, b.seed);
    live.delete(p);
    freed.push([b.owner, p]);
    if (freed.length > 64) freed.shift();
  };
  const expectErr = (cls, names, fn) => {
    try {
      fn();
    } catch (e) {
      if (!names.has(e.name)) fail(`${cls}: expected ${[...names].join("/")}, got ${e.name}: ${e.message}`);
      byClass[cls] = (byClass[cls] ?? 0) + 1;
      counts.invalid++;
      return;
    }
    fail(`${cls}: no error`);
  };

  // owners: caches and malloc
  const ctorSeen = new Set();
  const mk = (name, o) => {
    const c = heap.createCache(name, o);
    return { name, cache: c, size: o.size, reclaim: !!o.reclaim };
  };
  const owners = [
    mk("small", { size: 24 }),
    mk("mid", { size: 200, arrayCapacity: 5 }),
    mk("noarr", { size: 72, arrayCapacity: 0 }),
    mk("ctor", { size: 48, ctor: (p) => ctorSeen.add(p) }),
    mk("rec", { size: 64, reclaim: { destructor: () => {} } }), // drops nothing: reclaim frees the object
    mk("dbg", { size: 40, debug: true }),
  ];
  const mallocOwner = { name: "malloc", malloc: true };
  const lists = () => [...live.keys()];
  let keysCache = null;
  const randomLive = (pred) => {
    if (live.size === 0) return undefined;
    if (!keysCache || rand() < 0.05) keysCache = lists();
    for (let t = 0; t < 8; t++) {
      const p = keysCache[int(keysCache.length)];
      const b = live.get(p);
      if (b && (!pred || pred(b))) return p;
    }
    return undefined;
  };
  const oom = (e) => {
    if (e.name !== "OutOfMemoryError") throw e;
    counts.oom++;
  };
  let dead = null; // a destroyed cache
  const L = heap.L;
  const wilds = () => {
    const d = heap.hdr;
    const chunkBase = heap.u32(d + L.H_CHUNK_BASE);
    const p = randomLive();
    const xs = [8, d, d + L.H_BOOT, chunkBase, chunkBase + 64, chunkBase + 4096, heap.memory.buffer.byteLength + 64, 0xfffffff0];
    if (p !== undefined) xs.push(p + 1, p + 3, (p & ~4095) + 4095);
    return xs;
  };

  const actions = [
    // ---- valid ----
    [20, "alloc", () => {
      const o = pick(owners);
      try {
        const p = rand() < 0.15 ? o.cache.allocNode(int(2)) : o.cache.alloc();
        add(o, p, o.size);
      } catch (e) { oom(e); }
    }],
    [20, "free", () => {
      const p = randomLive();
      if (p === undefined) return;
      const b = live.get(p);
      forget(p);
      if (b.owner.malloc) heap.free(p);
      else b.owner.cache.free(p);
    }],
    [3, "allocBulk", () => {
      const o = pick(owners);
      try {
        for (const p of o.cache.allocBulk(1 + int(150))) add(o, p, o.size);
      } catch (e) { oom(e); }
    }],
    [3, "freeBulk", () => {
      const o = pick(owners);
      const ps = [];
      for (const [p, b] of live) {
        if (b.owner === o) ps.push(p);
        if (ps.length > 120) break;
      }
      for (const p of ps) forget(p);
      o.cache.freeBulk(ps);
    }],
    [2, "prefill", () => {
      const o = pick(owners);
      try {
        const h = o.cache.prefill(1 + int(30));
        const k = int(h.size + 1);
        for (let i = 0; i < k; i++) add(o, h.alloc(), o.size);
        o.cache.returnPrefilled(h);
        if (rand() < 0.3) expectErr("returned handle", new Set(["InvalidArgumentError"]), () => h.alloc());
      } catch (e) { oom(e); }
    }],
    [10, "malloc", () => {
      const r = rand();
      const n = r < 0.8 ? 1 + int(600) : r < 0.97 ? 8193 + int(60000) : (1 << 20) + int(1 << 20);
      try {
        const p = rand() < 0.1 ? heap.alignedAlloc(1 << (3 + int(10)), n) : rand() < 0.1 ? heap.calloc(1, n) : heap.malloc(n);
        add(mallocOwner, p, n);
      } catch (e) { oom(e); }
    }],
    [4, "realloc", () => {
      const p = randomLive((b) => b.owner.malloc);
      if (p === undefined) return;
      const b = live.get(p);
      const n = rand() < 0.9 ? 1 + int(900) : 8193 + int(40000);
      checkP(p, b.size, b.seed);
      let q;
      try {
        q = heap.realloc(p, n);
      } catch (e) { oom(e); return; }
      live.delete(p);
      if (q !== p && live.has(q)) fail(`realloc returned live 0x${q.toString(16)}`);
      const keep = Math.min(b.size, n);
      checkP(q, keep, b.seed);
      if (q !== p) { freed.push([mallocOwner, p]); if (freed.length > 64) freed.shift(); }
      live.set(q, { owner: mallocOwner, size: keep, seed: b.seed, off: 0 });
    }],
    [2, "pin", () => heap.pin(int(4))],
    [0.3, "shrink", () => { if (rand() < 0.5) heap.shrink(); else pick(owners).cache.shrink(); }],
    [0.5, "reap", () => heap.reap()],
    [0.3, "reclaim", () => {
      const o = owners[4];
      // mark some live objects "unused but cached" (count 1): reclaim may destroy and free them
      const mine = [];
      for (const [p, b] of live) if (b.owner === o && mine.length < 40) mine.push(p);
      for (const p of mine) heap.dv.setUint32(p, 1, true);
      o.cache.reclaim(1 + int(4));
      for (const p of mine) {
        const cnt = heap.dv.getUint32(p, true);
        if (cnt === 0) {
          // destroyed: reclaim set its count to 0 and freed it
          live.delete(p);
          freed.push([o, p]);
          if (freed.length > 64) freed.shift();
        } else heap.dv.setUint32(p, 2, true); // in use again
      }
    }],
    [0.2, "recreate", () => {
      // destroy a fresh cache (objects freed first), keep it around as `dead`
      const c = heap.createCache(`tmp${counts.ops}`, { size: 8 + int(500) });
      const ps = c.allocBulk(int(20));
      c.freeBulk(ps);
      c.destroy();
      dead = c;
      counts.destroyed++;
    }],
    // ---- invalid ----
    [3, "double free", () => {
      if (freed.length === 0) return;
      const [o, p] = pick(freed);
      if (live.has(p)) return; // handed out again since: a valid object now
      opName = `double free of 0x${p.toString(16)} (${o.name})`;
      expectErr("double free", INVALID_FREE, () => (o.malloc ? heap.free(p) : o.cache.free(p)));
    }],
    [2, "wild free", () => {
      const x = pick(wilds());
      if (live.has(x)) return;
      const o = rand() < 0.3 ? mallocOwner : pick(owners);
      expectErr("wild free", INVALID_FREE, () => (o.malloc ? heap.free(x) : o.cache.free(x)));
    }],
    [1, "wrong cache", () => {
      const p = randomLive((b) => !b.owner.malloc);
      if (p === undefined) return;
      const b = live.get(p);
      const o = pick(owners.filter((x) => x !== b.owner));
      expectErr("wrong cache", INVALID_FREE, () => o.cache.free(p));
      expectErr("wrong cache", INVALID_FREE, () => heap.free(p));
    }],
    [1, "malformed", () => {
      const p = randomLive((b) => !b.owner.malloc);
      const bad = pick([0.5, -1, NaN, "12", 2 ** 40, [1]]);
      const arg = p !== undefined && rand() < 0.5 ? pick([p + 0.5, String(p), p + 2 ** 32, [p]]) : bad;
      const o = p !== undefined ? live.get(p).owner : owners[0];
      expectErr("malformed", new Set(["InvalidArgumentError"]), () => o.cache.free(arg));
    }],
    [1, "bad bulk", () => {
      const o = pick(owners);
      const ps = [];
      for (const [p, b] of live) {
        if (b.owner === o) ps.push(p);
        if (ps.length > 20) break;
      }
      const w = wilds().filter((x) => !live.has(x));
      ps.splice(int(ps.length + 1), 0, rand() < 0.5 && ps.length ? ps[0] : pick(w));
      expectErr("bad bulk", new Set([...INVALID_FREE, "InvalidArgumentError"]), () => o.cache.freeBulk(ps));
    }],
    [0.5, "destroyed", () => {
      if (!dead) return;
      expectErr("destroyed", new Set(["CacheDestroyedError"]), () => pick([() => dead.alloc(), () => dead.free(8), () => dead.allocBulk(2), () => dead.prefill(2)])());
    }],
    [1, "C bad free", () => {
      const x = pick(wilds());
      if (live.has(x)) return;
      const before = heap.reportCount;
      heap.wasm.free(x);
      if (heap.reportCount !== before + 1) fail(`C free(0x${x.toString(16)}) made no report`);
      byClass["C bad free"] = (byClass["C bad free"] ?? 0) + 1;
      counts.invalid++;
    }],
  ];
  for (const a of actions) if (skip.includes(a[1])) a[0] = 0;
  const total = actions.reduce((a, x) => a + x[0], 0);
  const choose = () => {
    let r = rand() * total;
    for (const a of actions) if ((r -= a[0]) < 0) return a;
    return actions[0];
  };

  const check = () => {
    const v = heap.validate();
    if (!v.ok) fail(`validate: ${v.problemCount} problem(s), first ${JSON.stringify(v.problems[0])}`);
    for (const [p, b] of live) checkP(p + b.off, b.size, b.seed);
    counts.phases++;
    onPhase?.(counts, byClass);
  };

  for (counts.ops = 0; counts.ops < ops; counts.ops++) {
    const a = choose();
    opName = a[1];
    a[2]();
    if (!INVALID_ACTIONS.has(a[1])) counts.valid++;
    if ((counts.ops + 1) % phase === 0) check();
  }
  check();
  return { counts, byClass, ctorObjects: ctorSeen.size };
}
