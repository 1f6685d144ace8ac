// hostile-model.mjs — fast-check model-based commands over one heap (run in a worker by
// test/hostile-fuzz.test.ts through hostile-cases.mjs fuzzModel). The model is what a user knows: the
// live objects, their owner and their payload seed, and the objects freed since (still not handed out
// again). Commands mix valid work with every invalid class; each checks its own result, and Check
// validates the heap and every payload. A failing sequence is shrunk by fast-check to its core, and the
// result names it.
import fc from "fast-check";

const OWNERS = [
  { name: "small", size: 24 },
  { name: "mid", size: 200, arrayCapacity: 5 },
  { name: "noarr", size: 72, arrayCapacity: 0 },
  { name: "ctor", size: 48, ctor: true },
  { name: "malloc", size: 100, malloc: true },
];

function setup(heap) {
  const owners = OWNERS.map((o) => {
    if (o.malloc) return { ...o, alloc: () => heap.malloc(o.size), free: (p) => heap.free(p) };
    const c = heap.createCache(o.name, { size: o.size, arrayCapacity: o.arrayCapacity, ctor: o.ctor ? () => {} : undefined });
    return { ...o, cache: c, alloc: () => c.alloc(), free: (p) => c.free(p) };
  });
  return { heap, owners };
}

function put(heap, p, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < Math.min(size, 32); i++) u8[p + i] = (seed + i * 13) & 0xff;
}
function same(heap, p, size, seed) {
  const u8 = heap.u8;
  for (let i = 0; i < Math.min(size, 32); i++) if (u8[p + i] !== ((seed + i * 13) & 0xff)) return false;
  return true;
}

function errorOf(fn) {
  try {
    fn();
    return "none";
  } catch (e) {
    return e.name;
  }
}

const nth = (m, i) => [...m.keys()][i % m.size];

class Alloc {
  constructor(o, seed) { this.o = o; this.seed = seed; }
  check() { return true; }
  run(m, r) {
    const o = r.owners[this.o];
    const p = o.alloc();
    if (m.live.has(p)) throw new Error(`0x${p.toString(16)} handed out while live`);
    m.freed.delete(p);
    put(r.heap, p, o.size, this.seed);
    m.live.set(p, { o: this.o, seed: this.seed });
  }
  toString() { return `Alloc(${OWNERS[this.o].name})`; }
}

class Free {
  constructor(i) { this.i = i; }
  check(m) { return m.live.size > 0; }
  run(m, r) {
    const p = nth(m.live, this.i);
    const b = m.live.get(p);
    const o = r.owners[b.o];
    if (!same(r.heap, p, o.size, b.seed)) throw new Error(`payload of 0x${p.toString(16)} changed`);
    o.free(p);
    m.live.delete(p);
    m.freed.set(p, b.o);
  }
  toString() { return `Free(#${this.i})`; }
}

class DoubleFree {
  constructor(i) { this.i = i; }
  check(m) { return m.freed.size > 0; }
  run(m, r) {
    const p = nth(m.freed, this.i);
    const o = r.owners[m.freed.get(p)];
    const e = errorOf(() => o.free(p));
    if (e !== "DoubleFreeError" && e !== "InvalidFreeError") throw new Error(`double free of 0x${p.toString(16)} (${o.name}): ${e}`);
  }
  toString() { return `DoubleFree(#${this.i})`; }
}

class WildFree {
  constructor(k, o) { this.k = k; this.o = o; }
  check() { return true; }
  run(m, r) {
    const h = r.heap;
    const base = h.u32(h.hdr + h.L.H_CHUNK_BASE);
    const some = m.live.size ? nth(m.live, this.k) : base + 8192;
    const xs = [h.hdr, h.hdr + h.L.H_BOOT, base, base + 96, base + 4096, some + 1, some + 4, 0xfffffff0, h.memory.buffer.byteLength + 8];
    const x = xs[this.k % xs.length];
    if (m.live.has(x)) return;
    const e = errorOf(() => r.owners[this.o].free(x));
    if (e !== "InvalidFreeError" && e !== "DoubleFreeError") throw new Error(`wild free of 0x${x.toString(16)}: ${e}`);
  }
  toString() { return `WildFree(${this.k}, ${OWNERS[this.o].name})`; }
}

class Bulk {
  constructor(o, n, bad) { this.o = o; this.n = n; this.bad = bad; }
  check() { return !OWNERS[this.o].malloc; }
  run(m, r) {
    const o = r.owners[this.o];
    const got = o.cache.allocBulk(this.n);
    for (const p of got) {
      if (m.live.has(p)) throw new Error(`bulk: 0x${p.toString(16)} handed out while live`);
      m.freed.delete(p);
      put(r.heap, p, o.size, p & 0xff);
      m.live.set(p, { o: this.o, seed: p & 0xff });
    }
    const mine = [...m.live].filter(([, b]) => b.o === this.o).map(([p]) => p).slice(0, this.n);
    if (this.bad && m.freed.size) {
      const dup = nth(m.freed, this.n);
      const e = errorOf(() => o.cache.freeBulk([...mine, dup]));
      if (e !== "DoubleFreeError" && e !== "InvalidFreeError") throw new Error(`freeBulk with a freed pointer: ${e}`);
      return; // nothing was freed
    }
    o.cache.freeBulk(mine);
    for (const p of mine) { m.live.delete(p); m.freed.set(p, this.o); }
  }
  toString() { return `Bulk(${OWNERS[this.o].name}, ${this.n}${this.bad ? ", with a freed pointer" : ""})`; }
}

class Pin {
  constructor(cpu) { this.cpu = cpu; }
  check() { return true; }
  run(m, r) { r.heap.pin(this.cpu); }
  toString() { return `Pin(${this.cpu})`; }
}

class Realloc {
  constructor(i, n) { this.i = i; this.n = n; }
  check(m) { return [...m.live.values()].some((b) => OWNERS[b.o].malloc); }
  run(m, r) {
    const ps = [...m.live].filter(([, b]) => OWNERS[b.o].malloc);
    const [p, b] = ps[this.i % ps.length];
    const q = r.heap.realloc(p, this.n);
    if (q !== p && m.live.has(q)) throw new Error(`realloc returned live 0x${q.toString(16)}`);
    if (!same(r.heap, q, Math.min(this.n, 100), b.seed)) throw new Error(`realloc lost the payload`);
    m.live.delete(p);
    if (q !== p) m.freed.set(p, b.o);
    m.freed.delete(q);
    // keep the model simple: the block now holds min(n, 100) bytes of its payload; size it back to 100
    const q2 = r.heap.realloc(q, 100);
    put(r.heap, q2, 100, b.seed);
    if (q2 !== q) m.freed.set(q, b.o);
    m.freed.delete(q2);
    m.live.set(q2, b);
  }
  toString() { return `Realloc(#${this.i}, ${this.n})`; }
}

class Prefill {
  constructor(o, n, take) { this.o = o; this.n = n; this.take = take; }
  check() { return !OWNERS[this.o].malloc; }
  run(m, r) {
    const o = r.owners[this.o];
    const h = o.cache.prefill(this.n);
    for (let i = 0; i < Math.min(this.take, this.n); i++) {
      const p = h.alloc();
      if (m.live.has(p)) throw new Error(`prefill: 0x${p.toString(16)} handed out while live`);
      m.freed.delete(p);
      put(r.heap, p, o.size, 7);
      m.live.set(p, { o: this.o, seed: 7 });
    }
    o.cache.returnPrefilled(h);
  }
  toString() { return `Prefill(${OWNERS[this.o].name}, ${this.n}, take ${this.take})`; }
}

class Reclaim {
  constructor(kind) { this.kind = kind; }
  check() { return true; }
  run(m, r) {
    if (this.kind === 0) r.heap.shrink();
    else r.heap.reap();
  }
  toString() { return this.kind === 0 ? "Shrink" : "Reap"; }
}

class Check {
  check() { return true; }
  run(m, r) {
    const v = r.heap.validate();
    if (!v.ok) throw new Error(`validate: ${JSON.stringify(v.problems.slice(0, 2))}`);
    for (const [p, b] of m.live) if (!same(r.heap, p, OWNERS[b.o].size, b.seed)) throw new Error(`payload of 0x${p.toString(16)} changed`);
  }
  toString() { return "Check"; }
}

const owner = fc.nat(OWNERS.length - 1);
const COMMANDS = [
  fc.tuple(owner, fc.nat(255)).map(([o, s]) => new Alloc(o, s)),
  fc.tuple(owner, fc.nat(255)).map(([o, s]) => new Alloc(o, s)),
  fc.nat().map((i) => new Free(i)),
  fc.nat().map((i) => new Free(i)),
  fc.nat().map((i) => new DoubleFree(i)),
  fc.tuple(fc.nat(), owner).map(([k, o]) => new WildFree(k, o)),
  fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 90 }), fc.boolean()).map(([o, n, b]) => new Bulk(o, n, b)),
  fc.nat(3).map((c) => new Pin(c)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20000 })).map(([i, n]) => new Realloc(i, n)),
  fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 70 }), fc.nat(70)).map(([o, n, t]) => new Prefill(o, n, t)),
  fc.nat(1).map((k) => new Reclaim(k)),
  fc.constant(new Check()),
];

/** Run the property; returns { ok, runs } or { ok: false, counterexample, error } (shrunk). */
export async function checkModel(lib, { seed = 42, numRuns = 30, maxCommands = 300, progress } = {}) {
  let runs = 0;
  const prop = fc.asyncProperty(fc.commands(COMMANDS, { maxCommands }), async (cmds) => {
    const heap = await lib.createAllocator({ reap: false, nodes: 2, cpusPerNode: 2 });
    runs++;
    progress?.({ runs });
    fc.modelRun(() => ({ model: { live: new Map(), freed: new Map() }, real: setup(heap) }), [...cmds, new Check()]);
  });
  const out = await fc.check(prop, { seed, numRuns });
  if (!out.failed) return { ok: true, runs: out.numRuns };
  return { ok: false, counterexample: String(out.counterexample?.[0] ?? ""), error: String(out.errorInstance?.message ?? out.error ?? ""), shrinks: out.numShrinks };
}
