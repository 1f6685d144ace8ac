// replay.ts — replaying malloc-lab allocation traces on a heap, with checks: blocks never overlap, are
// aligned, and keep their payload; reports throughput and utilization.
//
// Owns: the trace format's parser and the replay loop. Entry points: parseTrace(), replayTrace().
// The CLI is bench/replay.mjs; test/replay.test.ts replays every trace in ../shared/traces.
//
// Format (../shared/traces/README.md): four header lines (suggested heap size, distinct ids, operations,
// weight — only the counts are used, as hints), then one operation per line:
//   a ID SIZE   allocate SIZE bytes as block ID
//   f ID        free block ID (f -1, or an id that is not live, frees a null pointer: a no-op)
//   r ID SIZE   realloc block ID to SIZE bytes (an id that is not live reallocs a null pointer, i.e.
//               allocates; SIZE 0 frees the block, and the id is no longer live)
//
// Checks (check: true): every block is aligned (16 bytes for 16 or more, 8 below: what malloc promises),
// lies inside memory and overlaps no live block (a sorted array of live blocks, binary search), and its
// bytes are filled with a pattern of its id and generation when it is made, checked when it is freed
// and, for the first min(old, new) bytes, when it is reallocated.
// Utilization = peak live payload bytes / the heap's footprint (bytes it took from the engine; a heap
// never gives memory back, so the footprint at the end is the peak).

/** Operation codes in Trace.ops. */
export const OP_ALLOC = 0;
export const OP_FREE = 1;
export const OP_REALLOC = 2;

/** A parsed trace: ops as triples [op, id, size] in one Int32Array. */
export interface Trace {
  name: string;
  /** Distinct ids the header announces (a hint; ids may exceed it). */
  ids: number;
  /** Number of operations. */
  count: number;
  /** [op, id, size] × count. */
  ops: Int32Array;
}

/** What the replayer needs from an allocator (Heap has all of it). */
export interface ReplayHeap {
  malloc(n: number): number;
  free(p: number): void;
  realloc(p: number, n: number): number;
  /** A byte view of memory, valid until the next call that may grow it. */
  readonly u8: Uint8Array;
}

export interface ReplayOptions {
  /** Check alignment, overlap and payload (default true). Off, the loop only allocates and frees. */
  check?: boolean;
  /** Bytes the heap has taken from the engine (for utilization). Default: heap.stats() when present. */
  footprint?: () => number;
}

export interface ReplayResult {
  name: string;
  ops: number;
  seconds: number;
  opsPerSecond: number;
  /** Peak of live payload bytes (the sizes asked for). */
  peakLive: number;
  /** Bytes the heap took from the engine by the end. */
  footprint: number;
  /** peakLive / footprint. */
  utilization: number;
  /** Problems found by the checks (empty when all is well). At most 20 are kept. */
  errors: string[];
}

/** Parse a trace in the malloc-lab format. Throws on a malformed line. */
export function parseTrace(text: string, name = "trace"): Trace {
  const lines = text.split("\n");
  let i = 0;
  const header: number[] = [];
  while (header.length < 4 && i < lines.length) {
    const t = lines[i++]!.trim();
    if (t !== "") header.push(Number(t));
  }
  if (header.length < 4 || header.some((v) => !Number.isFinite(v))) throw new Error(`${name}: the four header lines are missing`);
  const ops: number[] = [];
  for (; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "") continue;
    const f = t.split(/\s+/);
    const id = Number(f[1]);
    if (!Number.isInteger(id)) throw new Error(`${name}:${i + 1}: bad id in '${t}'`);
    if (f[0] === "a" || f[0] === "r") {
      const size = Number(f[2]);
      if (!Number.isInteger(size) || size < 0 || size > 0xffff_ffff) throw new Error(`${name}:${i + 1}: bad size in '${t}'`);
      ops.push(f[0] === "a" ? OP_ALLOC : OP_REALLOC, id, size);
    } else if (f[0] === "f") {
      ops.push(OP_FREE, id, 0);
    } else throw new Error(`${name}:${i + 1}: unknown operation '${t}'`);
  }
  return { name, ids: header[1]!, count: ops.length / 3, ops: Int32Array.from(ops) };
}

/** Sorted live blocks [start, end), for the overlap check. */
class Intervals {
  starts: number[] = [];
  ends: number[] = [];
  #find(p: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.starts[m]! < p) lo = m + 1;
      else hi = m;
    }
    return lo;
  }
  /** Add [p, p+n); returns the overlapping block's start, or -1. */
  add(p: number, n: number): number {
    const end = p + Math.max(n, 1);
    const k = this.#find(p);
    if (k > 0 && this.ends[k - 1]! > p) return this.starts[k - 1]!;
    if (k < this.starts.length && this.starts[k]! < end) return this.starts[k]!;
    this.starts.splice(k, 0, p);
    this.ends.splice(k, 0, end);
    return -1;
  }
  remove(p: number): void {
    const k = this.#find(p);
    if (this.starts[k] === p) {
      this.starts.splice(k, 1);
      this.ends.splice(k, 1);
    }
  }
}

function pattern(id: number, gen: number): number {
  return (id * 151 + gen * 7 + 1) & 0xff;
}

/** Replay `trace` on `heap`. Blocks still live at the end are freed (so a heap can replay again). */
export function replayTrace(heap: ReplayHeap, trace: Trace, opts: ReplayOptions = {}): ReplayResult {
  const check = opts.check ?? true;
  const footprint =
    opts.footprint ??
    (() => {
      const h = heap as unknown as { stats?: () => { bytesGrown: number; headerBytes: number } };
      if (!h.stats) return 0;
      const s = h.stats();
      return s.bytesGrown + s.headerBytes;
    });
  const ops = trace.ops;
  const ptr = new Map<number, number>();
  const size = new Map<number, number>();
  const gen = new Map<number, number>();
  const live = new Intervals();
  const errors: string[] = [];
  const fail = (msg: string) => {
    if (errors.length < 20) errors.push(`${trace.name}: ${msg}`);
  };
  let liveBytes = 0;
  let peakLive = 0;

  const verify = (id: number, p: number, n: number) => {
    const u8 = heap.u8;
    const v = pattern(id, gen.get(id) ?? 0);
    for (let i = p, end = p + n; i < end; i++) {
      if (u8[i] !== v) {
        fail(`block ${id} at 0x${p.toString(16)} lost its payload at byte ${i - p}`);
        return;
      }
    }
  };
  const made = (id: number, p: number, n: number, keep: number) => {
    // a new block (or the new place of a reallocated one, whose first `keep` bytes were copied)
    const align = n >= 16 ? 16 : 8;
    if (p % align !== 0) fail(`block ${id} at 0x${p.toString(16)} (${n} bytes) is not ${align}-aligned`);
    if (p + n > heap.u8.length) fail(`block ${id} at 0x${p.toString(16)} (${n} bytes) runs past memory`);
    const other = live.add(p, n);
    if (other >= 0) fail(`block ${id} at 0x${p.toString(16)} (${n} bytes) overlaps the live block at 0x${other.toString(16)}`);
    if (keep > 0) verify(id, p, keep);
    const g = (gen.get(id) ?? 0) + 1;
    gen.set(id, g);
    heap.u8.fill(pattern(id, g), p, p + n);
  };

  const t0 = performance.now();
  for (let k = 0; k < ops.length; k += 3) {
    const op = ops[k]!;
    const id = ops[k + 1]!;
    const n = ops[k + 2]!;
    if (op === OP_ALLOC) {
      const p = heap.malloc(n);
      if (ptr.has(id)) fail(`block ${id} allocated while live`);
      ptr.set(id, p);
      size.set(id, n);
      liveBytes += n;
      if (check) made(id, p, n, 0);
    } else if (op === OP_FREE) {
      const p = ptr.get(id) ?? 0;
      if (p !== 0) {
        if (check) {
          verify(id, p, size.get(id)!);
          live.remove(p);
        }
        liveBytes -= size.get(id)!;
        ptr.delete(id);
        size.delete(id);
      }
      heap.free(p);
    } else {
      const p = ptr.get(id) ?? 0;
      const old = p === 0 ? 0 : size.get(id)!;
      if (check && p !== 0) {
        verify(id, p, old);
        live.remove(p);
      }
      const q = heap.realloc(p, n);
      liveBytes += n - old;
      if (n === 0) {
        ptr.delete(id);
        size.delete(id);
      } else {
        ptr.set(id, q);
        size.set(id, n);
        if (check) made(id, q, n, Math.min(old, n));
      }
    }
    if (liveBytes > peakLive) peakLive = liveBytes;
  }
  const seconds = (performance.now() - t0) / 1000;
  const fp = footprint();
  for (const [id, p] of ptr) {
    if (check) verify(id, p, size.get(id)!);
    heap.free(p);
  }
  return {
    name: trace.name,
    ops: trace.count,
    seconds,
    opsPerSecond: trace.count / seconds,
    peakLive,
    footprint: fp,
    utilization: fp > 0 ? peakLive / fp : 0,
    errors,
  };
}
