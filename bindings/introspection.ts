// introspection.ts — reading the heap without changing it: heap and cache figures, per-CPU counters,
// /proc/slabinfo text, validate().
//
// Owns: heapStats(), cacheFigures(), counters(), totalObjects(), slabinfo(), validate() and the
// ValidateReport shape. Entry points: those functions, each taking the Core (and a cache address).
// Called by: heap.ts (Heap.stats/slabinfo/validate), cache.ts (Cache.stats). Calls: core.ts (reads
// through its views and exports), reclaim.ts's discardBounds (pure arithmetic), stats.ts, errors.ts,
// generated/abi.ts. Nothing here calls the Wasm in a way that allocates or frees.
// Invariants: every figure is read from the Wasm's own structures with the module's own offsets
// (generated/abi.ts); nothing is cached between calls.
import { Abi as L, ValidateKinds } from "./generated/abi.js";
import { CorruptionError, type ValidateProblem } from "./errors.js";
import { STAT_NAMES, zeroCounters, type Counters, type HeapStats } from "./stats.js";
import type { Core } from "./core.js";
import type { ReclaimCounters } from "./stats.js";

export interface ValidateReport {
  ok: boolean;
  problemCount: number;
  /** The first problems (at most 64). */
  problems: ValidateProblem[];
}

/** Where memory.discard (64 KiB pages) may start and end inside a chunk: from the first 64 KiB boundary
 *  past its descriptors (`lead` bytes in) to the last 64 KiB boundary in it (`tail` bytes before its end).
 *  chunkBase is 64 KiB-aligned (assembly/arena.ts), so lead = 64 KiB (the descriptors' Wasm page) and
 *  tail = 0: the discarded length of a whole chunk is CHUNK_SIZE - DISCARD_SKIP. (The general form stays
 *  for any chunkBase: lead = tail = the offset's complement and offset otherwise.) */
export function discardBounds(chunkBase: number, skip: number): { lead: number; tail: number } {
  const off = chunkBase % skip;
  return off === 0 ? { lead: skip, tail: 0 } : { lead: skip - off, tail: off };
}

/** Objects in all slabs of the cache at addr (free or not). */
export function totalObjects(core: Core, addr: number): number {
  let t = 0;
  for (let n = 0; n < core.nodes; n++) t += core.u32(addr + L.C_HDR + n * L.CN_SIZE + L.CN_TOTAL_OBJECTS);
  return t;
}

/** Slabs of the cache at addr: all, and those not empty. */
export function slabCounts(core: Core, addr: number): { slabs: number; activeSlabs: number } {
  let slabs = 0;
  let activeSlabs = 0;
  for (let n = 0; n < core.nodes; n++) {
    const cn = addr + L.C_HDR + n * L.CN_SIZE;
    const p = core.u32(cn + L.CN_NR_PARTIAL);
    const f = core.u32(cn + L.CN_NR_FULL);
    slabs += p + f + core.u32(cn + L.CN_NR_EMPTY);
    activeSlabs += p + f;
  }
  return { slabs, activeSlabs };
}

/** The per-CPU counters of the cache at addr, summed and per CPU. */
export function counters(core: Core, addr: number): { sum: Counters; perCpu: Counters[] } {
  const cpuOff = core.u32(core.hdr + L.H_CPU_OFF);
  const sum = zeroCounters();
  const perCpu: Counters[] = [];
  for (let cpu = 0; cpu < core.cpus; cpu++) {
    const base = addr + cpuOff + cpu * L.CC_SIZE + L.CC_STATS;
    const c = zeroCounters();
    STAT_NAMES.forEach((name, i) => {
      const v = core.u64(base + 8 * i);
      c[name] = v;
      sum[name] += v;
    });
    perCpu.push(c);
  }
  return { sum, perCpu };
}

/** Memory figures of the heap. The reclaim figures come from the caller (the Reclaimer is above). */
export function heapStats(core: Core, reclaim: { discardSupported: boolean; counters: ReclaimCounters }): HeapStats {
  const hdr = core.hdr;
  const chunks = core.u32(hdr + L.H_NCHUNKS);
  const chunkBase = core.u32(hdr + L.H_CHUNK_BASE);
  const freePages: number[] = [];
  const slabPages: number[] = [];
  const largePages: number[] = [];
  let freeChunks = 0;
  for (let n = 0; n < core.nodes; n++) {
    const node = hdr + L.H_NODES + n * L.NODE_SIZE;
    freePages.push(core.u32(node + L.N_FREE_PAGES));
    slabPages.push(core.u32(node + L.N_SLAB_PAGES));
    largePages.push(core.u32(node + L.N_LARGE_PAGES));
    freeChunks += core.u32(node + L.N_NR_FREE_CHUNKS);
  }
  let active = 0;
  let total = 0;
  for (const c of core.walkCaches()) {
    active += core.w.cache_live(c.addr);
    total += totalObjects(core, c.addr);
  }
  const byteLength = core.memory.buffer.byteLength;
  const freeBytes = freePages.reduce((a, b) => a + b, 0) * L.PAGE_SIZE;
  // The top chunk's free pages may not be committed yet (blocks are committed as they are handed out);
  // only the top chunk can be partly committed, and a discard of it covered only its committed part.
  // A run whose last chunk is the top one is committed to its block's end only (assembly/page.ts): its
  // uncommitted rest is the run's, not free pages, and a run tail's header bytes are user data.
  const heapEnd = chunkBase + chunks * L.CHUNK_SIZE;
  const top = chunkBase + (chunks - 1) * L.CHUNK_SIZE;
  const u8 = core.u8;
  const topInRun = chunks > 0 && ((u8[hdr + L.H_CHUNK_TABLE + chunks - 1]! & L.CT_RUN_TAIL) !== 0 || u8[top + L.CH_STATE] === L.CS_RUN);
  const uncommitted = topInRun ? 0 : Math.max(0, heapEnd - byteLength);
  const topDiscarded = chunks > 0 && !topInRun && u8[top + L.CH_STATE] === L.CS_FREE && u8[top + L.CH_DISCARDED] !== 0;
  const { tail } = discardBounds(chunkBase, L.DISCARD_SKIP); // a discard ends `tail` bytes before a chunk's end
  const discardedBytes = core.w.discarded_chunks() * (L.CHUNK_SIZE - L.DISCARD_SKIP) - (topDiscarded ? Math.max(0, uncommitted - tail) : 0);
  return {
    bytesGrown: chunks * L.CHUNK_SIZE,
    committedBytes: Math.min(heapEnd, byteLength) - hdr,
    headerBytes: chunkBase - hdr,
    chunks,
    freePages,
    slabPages,
    largePages,
    activeObjects: active,
    totalObjects: total,
    freeChunkBytes: freeChunks * L.CHUNK_SIZE,
    discardedBytes,
    freeCommittedBytes: freeBytes - discardedBytes - uncommitted,
    discardSupported: reclaim.discardSupported,
    reclaim: reclaim.counters,
  };
}

/** `/proc/slabinfo` version 2.1 text for every cache, the heap's own included. */
export function slabinfo(core: Core): string {
  const lines = [
    "slabinfo - version: 2.1",
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>",
  ];
  const col = (v: number, w: number) => String(v).padStart(w);
  for (const c of core.walkCaches()) {
    const a = c.addr;
    const { slabs, activeSlabs } = slabCounts(core, a);
    lines.push(
      `${c.name.padEnd(17)} ${col(core.w.cache_live(a), 6)} ${col(totalObjects(core, a), 6)} ${col(core.u32(a + L.C_SIZE), 6)} ` +
        `${col(core.u32(a + L.C_OBJECTS), 4)} ${col(1 << core.u32(a + L.C_ORDER), 4)} : tunables ${col(core.u32(a + L.C_ARRAY_CAP), 4)} ` +
        `${col(core.u32(a + L.C_BATCH), 4)} ${col(0, 4)} : slabdata ${col(activeSlabs, 6)} ${col(slabs, 6)} ${col(0, 6)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Problem kinds by code (the module's V_* codes, named as the report shows them). */
const KIND_NAMES: Record<number, string> = {
  [ValidateKinds.PAGE_COVER]: "page-cover",
  [ValidateKinds.FREE_LIST]: "free-list",
  [ValidateKinds.FREE_COUNT]: "free-count",
  [ValidateKinds.SLAB_LIST]: "slab-list",
  [ValidateKinds.SLAB_COUNT]: "slab-count",
  [ValidateKinds.TAIL]: "tail",
  [ValidateKinds.ARRAY]: "array",
  [ValidateKinds.BARN]: "barn",
  [ValidateKinds.REDZONE]: "red-zone",
  [ValidateKinds.POISON]: "poison",
  [ValidateKinds.QUARANTINE]: "quarantine",
  [ValidateKinds.INUSE]: "in-use",
  [ValidateKinds.MEDIUM]: "medium",
};

/** Check every chunk, free list, cache, slab and array (heap_validate) and read its report. */
export function validate(core: Core, opts: { throw?: boolean }): ValidateReport {
  const total = core.w.heap_validate() >>> 0;
  const problems: ValidateProblem[] = [];
  const names = new Map(core.walkCaches().map((c) => [c.addr, c.name]));
  for (let i = 0; i < Math.min(total, L.REPORT_MAX); i++) {
    const e = core.hdr + L.H_REPORT + i * L.REPORT_ENTRY;
    const code = core.dv.getInt32(e, true);
    const cacheAddr = core.u32(e + 8);
    problems.push({ kind: KIND_NAMES[code] ?? `code-${code}`, addr: core.u32(e + 4), cache: cacheAddr ? names.get(cacheAddr) : undefined });
  }
  const report: ValidateReport = { ok: total === 0, problemCount: total, problems };
  if (!report.ok && opts.throw) throw new CorruptionError(problems, total);
  return report;
}
