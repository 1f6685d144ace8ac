// abi.ts — the constants the Wasm module shares with its hosts, exported as immutable globals.
//
// Owns: the list of what crosses the ABI as a value: layout offsets and sizes, limits (MAX_NODES,
// MAX_CPUS, MAX_ARRAY_CAP...), cache flags (F_*), error codes (E_*), env.hook ops (HOOK_*), validate
// problem kinds (V_*) and malloc class sets (KM_SET_*). Nothing here is computed: it re-exports.
// Entry point: index.ts re-exports this file (`export * from "./abi"`), so each constant becomes a Wasm
// global of the same name. Called by: nobody at run time; scripts/gen-abi.mjs reads the globals from
// build/release.wasm and writes bindings/generated/abi.ts, so the TS layer never copies a value by hand.
// Invariants: every constant is a u32 (or a non-negative i32 code); a name keeps its meaning (bindings,
// tests and C callers read them by name). Add a constant here when TS needs it, never a copy in TS.
export * from "./layout";
export {
  V_PAGE_COVER, V_FREE_LIST, V_FREE_COUNT, V_SLAB_LIST, V_SLAB_COUNT, V_TAIL, V_ARRAY, V_BARN,
  V_REDZONE, V_POISON, V_QUARANTINE, V_INUSE, V_MEDIUM,
} from "./validate";
export { DEFAULT_CAP } from "./cache";
export { FP_SLOTS } from "./footprint";
// The fast-path counters and the free key, for the TS layer's tests and tools.
export { ALLOC_FASTPATH, FREE_FASTPATH, NR_STATS } from "./stats";
export { FREE_KEY } from "./inuse";
