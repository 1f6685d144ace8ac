/* bump.c — the cost floor for bench/malloc-peers.mjs: malloc bumps a pointer and never frees (peer d).
 * Each block has a 16-byte header holding its size (for realloc); blocks are 16-aligned. Memory grows
 * with memory.grow as needed. Linked in place of wasi-libc's malloc, as c/slab_shim.c is. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern unsigned char __heap_base;
static uintptr_t top;

void *malloc(size_t n) {
  if (!top) top = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
  uintptr_t p = top + 16;
  uintptr_t end = p + ((n + 15) & ~(size_t)15);
  size_t have = __builtin_wasm_memory_size(0) << 16;
  /* grow in steps of at least 16 MiB: memory.grow is far too slow to call for every block */
  if (end > have) {
    size_t pages = (end - have + 65535) >> 16;
    if (pages < 256) pages = 256;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  *(size_t *)(p - 16) = n;
  top = end;
  return (void *)p;
}
void free(void *p) { (void)p; }
void *calloc(size_t n, size_t s) { void *p = malloc(n * s); if (p) memset(p, 0, n * s); return p; }
void *realloc(void *p, size_t n) {
  void *q = malloc(n);
  if (p && q) { size_t old = *(size_t *)((unsigned char *)p - 16); memcpy(q, p, old < n ? old : n); }
  return q;
}
void *aligned_alloc(size_t a, size_t n) { return a <= 16 ? malloc(n) : 0; }
int posix_memalign(void **r, size_t a, size_t n) { void *p = aligned_alloc(a, n); if (!p) return 12; *r = p; return 0; }
size_t malloc_usable_size(void *p) { return p ? *(size_t *)((unsigned char *)p - 16) : 0; }
void *__libc_malloc(size_t n) { return malloc(n); }
void __libc_free(void *p) { free(p); }
void *__libc_calloc(size_t n, size_t s) { return calloc(n, s); }
