/* freestanding.c — a C client of wasm-slab with no libc: linked lists, arrays grown with realloc,
 * calloc, aligned allocations. Each exported test returns 0 when every check holds, else the number of
 * the first check that failed. Built by test/c-link.test.ts with and without c/slab_shim.c. */
#include <stddef.h>
#include <stdint.h>
#include "slab.h"

#define EXPORT(name) __attribute__((export_name(#name)))

void *volatile sink; /* results the compiler must not reason about */

struct node { struct node *next; uint32_t value; char pad[20]; };

static void fill(unsigned char *p, size_t n, unsigned seed) { for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7); }
static int check(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(seed + i * 7)) return 0;
  return 1;
}

EXPORT(lists) int lists(int n) {
  struct node *head = 0;
  for (int i = 0; i < n; i++) {
    struct node *e = malloc(sizeof *e);
    if (!e || ((uintptr_t)e & 15)) return 1;
    e->value = (uint32_t)i * 3u;
    e->next = head;
    head = e;
  }
  uint32_t sum = 0, want = 0;
  for (int i = 0; i < n; i++) want += (uint32_t)i * 3u;
  for (struct node *e = head; e; e = e->next) sum += e->value;
  if (sum != want) return 2;
  while (head) { struct node *nx = head->next; free(head); head = nx; }
  return 0;
}

EXPORT(grow) int grow(int rounds) {
  /* an array grown by realloc, its contents checked after each move */
  size_t cap = 4;
  uint32_t *a = malloc(cap * sizeof *a);
  if (!a) return 1;
  size_t len = 0;
  for (int r = 0; r < rounds; r++) {
    if (len == cap) {
      cap = cap * 2 + 1;
      uint32_t *b = realloc(a, cap * sizeof *a);
      if (!b) return 2;
      a = b;
      for (size_t i = 0; i < len; i++) if (a[i] != i * 2654435761u) return 3;
      if (malloc_usable_size(a) < cap * sizeof *a) return 4;
    }
    a[len] = (uint32_t)len * 2654435761u;
    len++;
  }
  a = realloc(a, 10 * sizeof *a); /* shrink keeps the first bytes */
  if (!a) return 5;
  for (size_t i = 0; i < 10; i++) if (a[i] != i * 2654435761u) return 6;
  if (realloc(a, 0) != 0) return 7; /* frees */
  return 0;
}

EXPORT(mixed) int mixed(int n) {
  /* many sizes live at once, payloads checked, then freed in another order */
  static unsigned char *ptrs[512];
  static size_t sizes[512];
  unsigned x = 12345;
  for (int round = 0; round < n; round++) {
    for (int i = 0; i < 512; i++) {
      x = x * 1103515245u + 12345u;
      size_t sz = (x >> 8) % ((i & 31) == 0 ? 70000 : 600) + 1;
      if (ptrs[i]) {
        if (!check(ptrs[i], sizes[i], (unsigned)i)) return 1;
        free(ptrs[i]);
      }
      ptrs[i] = malloc(sz);
      if (!ptrs[i]) return 2;
      if (sz >= 16 && ((uintptr_t)ptrs[i] & 15)) return 3;
      sizes[i] = sz;
      fill(ptrs[i], sz, (unsigned)i);
    }
  }
  for (int i = 511; i >= 0; i--) { if (!check(ptrs[i], sizes[i], (unsigned)i)) return 4; free(ptrs[i]); ptrs[i] = 0; }
  return 0;
}

EXPORT(zeroed) int zeroed(void) {
  for (size_t n = 1; n < 20000; n = n * 3 + 1) {
    unsigned char *p = malloc(n);
    fill(p, n, 9);
    free(p);
    unsigned char *q = calloc(n, 1);
    if (!q) return 1;
    for (size_t i = 0; i < n; i++) if (q[i]) return 2;
    free(q);
  }
  /* (through a volatile pointer: the compiler may fold "an unused allocation is not NULL") */
  if ((sink = calloc(0x10000, 0x10001)) != 0) return 3; /* overflows 32 bits */
  if ((sink = calloc((size_t)-1, 2)) != 0) return 4;
  return 0;
}

EXPORT(aligned) int aligned(void) {
  for (size_t a = 1; a <= 65536; a <<= 1) {
    for (size_t n = 1; n < 100000; n = n * 5 + 3) {
      void *p = aligned_alloc(a, n);
      if (!p || ((uintptr_t)p & (a - 1))) return 1;
      fill(p, n, 3);
      free(p);
      void *q = 0;
      int e = posix_memalign(&q, a < sizeof(void *) ? sizeof(void *) : a, n);
      if (e != 0 || !q || ((uintptr_t)q & (a - 1))) return 2;
      free(q);
    }
  }
  void *q = (void *)1;
  if (posix_memalign(&q, 24, 10) == 0 || q != (void *)1) return 3; /* not a power of two: EINVAL */
  if ((sink = aligned_alloc(3, 10)) != 0) return 4;
  void *z = sink = malloc(0);
  if (!z) return 5;
  free(z);
  free(0);
  return 0;
}

/* Hand free() and realloc() bad pointers: nothing may change (the host hears of each one). */
EXPORT(bad_pointers) int bad_pointers(void) {
  char *volatile p = malloc(100);
  char *volatile big = malloc(100000);
  if (!p || !big) return 1;
  p[0] = 'x';
  free(p + 8);                       /* inside an object */
  if (wasm_slab_last_error() != 3 || wasm_slab_last_error_addr() != p + 8) return 4; /* E_NOT_OBJECT, named */
  free(big + 4096);                  /* inside a large block */
  if ((sink = realloc(p + 1, 50)) != 0) return 2;
  free((void *)16);                  /* below the heap */
  if (p[0] != 'x') return 3;
  free(big);
  free(big);                         /* a large block freed twice */
  if (wasm_slab_last_error() != 5) return 5;                       /* E_DOUBLE_FREE */
  free(p);
  free(p);                           /* a small block freed twice */
  if (wasm_slab_last_error() != 5 || wasm_slab_last_error_addr() != p) return 6;
  return 0;
}
