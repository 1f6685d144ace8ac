/* wasi.c — a wasm32-wasi C program that uses libc (printf, strdup, qsort, snprintf) on wasm-slab's
 * malloc. It prints a deterministic report; test/c-link.test.ts compares it to the same program
 * on wasi-libc's own dlmalloc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  enum { N = 5000 };
  char **words = malloc(N * sizeof *words);
  if (!words) return 1;
  unsigned x = 7;
  char buf[64];
  for (int i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    int len = snprintf(buf, sizeof buf, "w%u-%.*s", x % 100000, (int)(x >> 27), "abcdefghijklmnopqrstuvwxyzabcdef");
    if (len < 0) return 2;
    words[i] = strdup(buf);
    if (!words[i]) return 3;
  }
  qsort(words, N, sizeof *words, cmp);
  unsigned long h = 5381;
  size_t total = 0;
  for (int i = 0; i < N; i++) {
    for (const char *c = words[i]; *c; c++) h = h * 33 + (unsigned char)*c;
    total += strlen(words[i]);
  }
  char *joined = NULL;
  size_t jl = 0;
  for (int i = 0; i < N; i += 50) { /* grow one string with realloc */
    size_t l = strlen(words[i]);
    char *nj = realloc(joined, jl + l + 2);
    if (!nj) return 4;
    joined = nj;
    memcpy(joined + jl, words[i], l);
    jl += l;
    joined[jl++] = ',';
    joined[jl] = 0;
  }
  printf("words %d first %s last %s\n", N, words[0], words[N - 1]);
  printf("hash %lu total %zu joined %zu\n", h, total, jl);
  printf("usable>=asked %d\n", malloc_usable_size(joined) >= jl + 1);
  for (int i = 0; i < N; i++) free(words[i]);
  free(words);
  free(joined);
  if (argc > 1 && strcmp(argv[1], "bad") == 0) {
    char *volatile p = malloc(40);
    strcpy(p, "kept");
    free(p + 4);                     /* not the start of a block: reported, nothing changes */
    printf("after bad free: %s\n", p);
    free(p);
  }
  return 0;
}
