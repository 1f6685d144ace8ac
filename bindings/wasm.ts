// wasm.ts — loading the embedded Wasm module and the typed view of its exports.
//
// Owns: compiling (once per build flavour), instantiating over a given memory, the host hook, and the
// layout constants the module exports as globals (so TS reads structures with the Wasm's own offsets).
import { debugWasm, releaseWasm } from "./generated/wasm.js";

/** The functions the Wasm module exports (assembly/index.ts). Pointers and sizes are u32. */
export interface SlabExports {
  slab_init(heapBase: number, nodes: number, cpusPerNode: number, maxBytes: number): number;
  heap_addr(): number;
  data_end(): number;
  last_error(): number;
  pin_cpu(cpu: number): number;
  current_cpu(): number;
  cpu_node(cpu: number): number;
  node_of(ptr: number): number;
  cache_create(size: number, align: number, flags: number, arrayCap: number): number;
  cache_destroy(cache: number): number;
  cache_alloc(cache: number): number;
  cache_alloc_node(cache: number, node: number): number;
  cache_free(cache: number, ptr: number): number;
  cache_valid(cache: number): number;
  cache_live(cache: number): number;
  cache_parked(cache: number): number;
  cache_drain(cache: number): number;
  cache_tune(cache: number, cap: number): number;
  cache_head(): number;
  node_free_pages(node: number): number;
  heap_set_flags2(v: number): void;
  heap_validate(): number;
  cache_prefill(cache: number, n: number): number;
  prefilled_alloc(handle: number): number;
  prefilled_count(handle: number): number;
  cache_return_prefilled(cache: number, handle: number): void;
  cache_alloc_bulk(cache: number, dst: number, n: number): number;
  cache_free_bulk(cache: number, src: number, n: number): number;
  bulk_bad_index(): number;
  stage_alloc(): number;
  // debugging and hardening (assembly/debug.ts, inuse.ts)
  last_error_addr(): number;
  last_error_cache(): number;
  last_error_offset(): number;
  last_error_found(): number;
  last_error_expected(): number;
  debug_set_defaults(flags: number): number;
  debug_defaults(): number;
  debug_set_tag(tag: number): void;
  debug_set_stamp(stamp: number): void;
  debug_clock(): number;
  debug_reports(): number;
  debug_track(cache: number, ptr: number, which: number): number;
  cache_quarantined(cache: number): number;
  cache_live_at(cache: number, k: number): number;
  // reclaim (assembly/reclaim.ts)
  reap_pass(cpu: number): number;
  cache_shrink(cache: number): number;
  heap_shrink(): number;
  cache_reclaim(cache: number, pages: number): number;
  reclaim_destroyed(): number;
  reclaim_free(cache: number, ptr: number): number;
  object_check(cache: number, ptr: number): number;
  discard_next(from: number): number;
  discard_unmark(i: number): void;
  discarded_chunks(): number;
  // malloc for Wasm programs (assembly/kmalloc.ts): the C functions, then the TS layer's variants
  malloc(size: number): number;
  free(ptr: number): void;
  calloc(n: number, size: number): number;
  realloc(ptr: number, size: number): number;
  aligned_alloc(align: number, size: number): number;
  posix_memalign(memptr: number, align: number, size: number): number;
  malloc_usable_size(ptr: number): number;
  km_free(ptr: number): number;
  km_realloc(ptr: number, size: number): number;
  km_usable(ptr: number): number;
  km_set_classes(set: number): number;
  // footprint (assembly/footprint.ts): walk the heap, then read its FP_SLOTS results
  heap_footprint(): void;
  footprint_result(slot: number): number;
}

/** Host callbacks the module calls through env.hook(op, a, b, c). */
export type HookFn = (op: number, a: number, b: number, c: number) => number;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export function compileSlab(debug: boolean): Promise<WebAssembly.Module> {
  const key = debug ? "debug" : "release";
  let m = compiled.get(key);
  if (!m) {
    m = WebAssembly.compile(debug ? debugWasm : releaseWasm);
    compiled.set(key, m);
  }
  return m;
}

export interface SlabInstance {
  exports: SlabExports;
  /** Layout constants (C_OBJECTS, D_KIND, ...) exported by the module as globals. */
  layout: Record<string, number>;
}

export async function instantiateSlab(
  memory: WebAssembly.Memory,
  hook: HookFn,
  debug: boolean,
): Promise<SlabInstance> {
  const module = await compileSlab(debug);
  const instance = await WebAssembly.instantiate(module, { env: { memory, hook } });
  const layout: Record<string, number> = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    if (value instanceof WebAssembly.Global) layout[name] = Number(value.value);
  }
  return { exports: instance.exports as unknown as SlabExports, layout };
}
