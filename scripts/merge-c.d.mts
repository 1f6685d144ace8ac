// Types of scripts/merge-c.mjs ("wasm-slab/merge-c").

/** dist/slab-merge.wasm: the allocator built to be merged into a C module. */
export declare const SLAB_MERGE_WASM: string;

/** Merge `input` (a wasm32 C module linked with c/slab_shim.c and --export=__heap_base) with the
 *  allocator into `output`, then optimise with wasm-opt -O3 unless `opt` is false. Needs the npm package
 *  binaryen 132 installed beside wasm-slab; throws an Error naming it otherwise. */
export declare function mergeC(input: string, output: string, options?: { opt?: boolean }): void;
