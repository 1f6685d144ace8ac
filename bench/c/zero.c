/* zero.c — the mix's cost floor for bench/harness-bound.mjs: an allocator that costs (almost) nothing.
 * malloc hands out the next 528-byte step of a 1 MiB ring above __heap_base and touches no memory; free
 * does nothing. Linked in place of wasi-libc's malloc with clang -flto, so malloc and free are inlined
 * into mbench.c's mix loop, as merge-c inlines wasm-slab's: what is left is the harness's own loop
 * (random numbers, slot array, the coin flip). Valid only for `mbench mix` (no payload is written;
 * blocks overlap after 1 MiB): never for traces. */
#include <stddef.h>
#include <stdint.h>

extern unsigned char __heap_base;
static uintptr_t at;

void *malloc(size_t n) {
  (void)n;
  at = (at + 528) & ((1u << 20) - 1);
  return (void *)((((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15) + at);
}
void free(void *p) { (void)p; }
void *calloc(size_t n, size_t s) { return malloc(n * s); }
void *realloc(void *p, size_t n) { (void)p; return malloc(n); }
