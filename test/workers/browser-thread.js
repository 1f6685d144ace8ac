// browser-thread.js — a module Worker of test/threads-browser.test.ts (served by that test's server, with
// the unbundled dist/ as /dist/). Attaches to the shared heap it is sent, allocates and frees objects,
// sends some to the next Worker through a shared ring and frees those it receives (cross-thread frees),
// checks payloads, releases its CPU, and reports.
import { attachAllocator } from "/dist/index.js";

onmessage = async (ev) => {
  const { handle, id, nworkers, ops, rings, ringSize } = ev.data;
  try {
    const heap = await attachAllocator(handle);
    const cache = heap.cache("obj");
    const ring = new Int32Array(rings);
    const R = ringSize + 2;
    const mine = [];
    let problems = 0;
    let remote = 0;
    const write = (p) => { new Uint32Array(heap.memory.buffer, p, 2).set([p, ~p >>> 0]); };
    const check = (p) => { const v = new Uint32Array(heap.memory.buffer, p, 2); if (v[0] !== p || v[1] !== (~p >>> 0)) problems++; };
    const send = (p) => {
      const to = ((id + 1) % nworkers) * R;
      const h = Atomics.load(ring, to), t = Atomics.load(ring, to + 1);
      if (t - h >= ringSize) return false;
      Atomics.store(ring, to + 2 + (t % ringSize), p);
      Atomics.store(ring, to + 1, t + 1);
      return true;
    };
    const receive = () => {
      const me = id * R;
      const h = Atomics.load(ring, me);
      if (h === Atomics.load(ring, me + 1)) return 0;
      const p = Atomics.load(ring, me + 2 + (h % ringSize));
      Atomics.store(ring, me, h + 1);
      return p;
    };
    for (let i = 0; i < ops; i++) {
      const got = receive();
      if (got) { check(got); cache.free(got); remote++; continue; }
      if (i % 3 !== 2 || mine.length === 0) {
        const p = i % 5 === 0 ? heap.malloc(40 + (i % 100)) : cache.alloc();
        write(p);
        if (i % 5 !== 0 && i % 2 === 0 && send(p)) continue;
        mine.push([p, i % 5 === 0]);
      } else {
        const [p, m] = mine.pop();
        check(p);
        m ? heap.free(p) : cache.free(p);
      }
    }
    for (const [p, m] of mine) { check(p); m ? heap.free(p) : cache.free(p); }
    // Everyone stops sending; then drain what is left for me.
    Atomics.add(ring, nworkers * R, 1);
    while (Atomics.load(ring, nworkers * R) < nworkers) Atomics.wait(ring, nworkers * R, Atomics.load(ring, nworkers * R), 20);
    for (let p = receive(); p; p = receive()) { check(p); cache.free(p); remote++; }
    const cpu = heap.cpu;
    heap.releaseCpu();
    postMessage({ ok: true, id, cpu, problems, remote });
  } catch (e) {
    postMessage({ ok: false, id, error: String(e && e.stack ? e.stack : e) });
  }
};
