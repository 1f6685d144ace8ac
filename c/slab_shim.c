/* slab_shim.c — malloc, free, calloc, realloc, aligned_alloc, posix_memalign and malloc_usable_size for a
 * C program in Wasm, served by wasm-slab (see slab.h for the two ways to link).
 *
 * Each function calls the allocator's function of the same name, imported from the module "wasm_slab".
 * Defining them here keeps libc's own malloc (wasi-libc's dlmalloc) out of the link: the linker takes an
 * archive member only for a symbol still undefined, so every symbol of that member that libc itself
 * uses is defined here too (__libc_malloc, __libc_free, __libc_calloc).
 */
#include "slab.h"

#ifdef __wasi__
#include <errno.h>
#define SET_ENOMEM() (errno = ENOMEM)
#else
#define SET_ENOMEM() ((void)0)
#endif

#define SLAB_IMPORT(name) __attribute__((import_module("wasm_slab"), import_name(#name)))

void *wasm_slab_malloc(size_t size) SLAB_IMPORT(malloc);
void wasm_slab_free(void *ptr) SLAB_IMPORT(free);
void *wasm_slab_calloc(size_t n, size_t size) SLAB_IMPORT(calloc);
void *wasm_slab_realloc(void *ptr, size_t size) SLAB_IMPORT(realloc);
void *wasm_slab_aligned_alloc(size_t align, size_t size) SLAB_IMPORT(aligned_alloc);
int wasm_slab_posix_memalign(void **memptr, size_t align, size_t size) SLAB_IMPORT(posix_memalign);
size_t wasm_slab_malloc_usable_size(void *ptr) SLAB_IMPORT(malloc_usable_size);

void *malloc(size_t size) {
  void *p = wasm_slab_malloc(size);
  if (__builtin_expect(p == 0, 0)) SET_ENOMEM();
  return p;
}

void free(void *ptr) { wasm_slab_free(ptr); }

void *calloc(size_t n, size_t size) {
  void *p = wasm_slab_calloc(n, size);
  if (p == 0) SET_ENOMEM();
  return p;
}

void *realloc(void *ptr, size_t size) {
  void *p = wasm_slab_realloc(ptr, size);
  if (p == 0 && size != 0) SET_ENOMEM();
  return p;
}

void *aligned_alloc(size_t align, size_t size) {
  void *p = wasm_slab_aligned_alloc(align, size);
  if (p == 0) SET_ENOMEM();
  return p;
}

int posix_memalign(void **memptr, size_t align, size_t size) {
  return wasm_slab_posix_memalign(memptr, align, size);
}

size_t malloc_usable_size(void *ptr) { return wasm_slab_malloc_usable_size(ptr); }

/* wasi-libc's internal names for the same functions. */
void *__libc_malloc(size_t size) { return malloc(size); }
void __libc_free(void *ptr) { free(ptr); }
void *__libc_calloc(size_t n, size_t size) { return calloc(n, size); }
