// merged.ts — entry point of the build that is merged into a C module with wasm-merge (dist/slab-merge.wasm).
//
// Owns: nothing but the start-up. It exports everything index.ts exports (the C functions malloc, free,
// calloc, realloc, aligned_alloc, posix_memalign, malloc_usable_size among them) and sets the heap up when
// the merged module is instantiated, so malloc never meets an uninitialised heap and needs no check for
// one. Imports, resolved by wasm-merge against the C module (named "env" on its command line):
//   env.memory        the C module's memory (it must export it: the default for wasm-ld)
//   env.__heap_base   where the C module's data and stack end (link with -Wl,--export=__heap_base)
//   env.hook          left as an import of the merged module: the host's report function (or a no-op)
// The heap: one node, one CPU, no budget but the engine's. Memory below __heap_base is never written.
// The merge target is built with ONE_CPU=1 (asconfig.json; percpu.ts SINGLE_CPU): the fast paths take that
// CPU's slot and node as constants, and a heap of another shape traps at init.
export * from "./index";
import { slab_init } from "./index";

@external("env", "__heap_base")
declare const C_HEAP_BASE: u32;

slab_init(C_HEAP_BASE, 1, 1, 0);
