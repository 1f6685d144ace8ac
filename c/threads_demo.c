/* threads_demo.c — a freestanding C program that runs in several Workers over one shared memory and
 * allocates and frees across threads through wasm-slab's malloc/free imports (issue 13, item 7).
 *
 * Build (freestanding: Debian's wasi-libc has no threads build; see ../shared/TOOLCHAIN.md):
 *   clang --target=wasm32 -nostdlib -O2 -matomics -mbulk-memory -Wl,--no-entry -Wl,--shared-memory \
 *     -Wl,--max-memory=N -Wl,--import-memory -Wl,--allow-undefined -Wl,--export=__heap_base \
 *     -Wl,--export=__stack_pointer -Wl,--export=work -mmutable-globals threads_demo.c -o demo.wasm
 * Each Worker instantiates it over the heap's memory with heap.imports() (its own allocator instance,
 * owning one CPU), gives it its own stack (__stack_pointer: globals are per instance, the stack is not),
 * and calls work(id, nthreads, ops, seed). The data segments are passive and written once (wasm-ld's
 * __wasm_init_memory), so the rings below are shared by every instance.
 *
 * Every thread allocates blocks of random sizes, writes a pattern into each, sends about half of them
 * to the next thread through a single-producer single-consumer ring, and frees what it receives after
 * checking the pattern: most frees are of blocks another thread allocated. work() returns the number of
 * problems found (0 expected); every block it allocated or received is freed before it returns.
 */
typedef unsigned int u32;
typedef unsigned long size_t;

void *malloc(size_t n);
void free(void *p);

#define MAX_THREADS 8
#define RING 1024

static u32 ring_head[MAX_THREADS];       /* consumer index, per receiving thread */
static u32 ring_tail[MAX_THREADS];       /* producer index */
static u32 ring_slot[MAX_THREADS][RING];
static u32 finished;                     /* threads done producing */

static int send(int to, u32 p) {
  u32 t = __atomic_load_n(&ring_tail[to], __ATOMIC_RELAXED);
  u32 h = __atomic_load_n(&ring_head[to], __ATOMIC_ACQUIRE);
  if (t - h >= RING) return 0;
  ring_slot[to][t % RING] = p;
  __atomic_store_n(&ring_tail[to], t + 1, __ATOMIC_RELEASE);
  return 1;
}

static u32 receive(int me) {
  u32 h = __atomic_load_n(&ring_head[me], __ATOMIC_RELAXED);
  if (h == __atomic_load_n(&ring_tail[me], __ATOMIC_ACQUIRE)) return 0;
  u32 p = ring_slot[me][h % RING];
  __atomic_store_n(&ring_head[me], h + 1, __ATOMIC_RELEASE);
  return p;
}

/* A block: [size][owner tag][pattern bytes...]. */
static void fill(u32 *b, u32 n, u32 tag) {
  b[0] = n;
  b[1] = tag;
  unsigned char *c = (unsigned char *)(b + 2);
  for (u32 i = 0; i + 8 < n; i++) c[i] = (unsigned char)(tag + i);
}

static int check(const u32 *b) {
  u32 n = b[0], tag = b[1];
  const unsigned char *c = (const unsigned char *)(b + 2);
  for (u32 i = 0; i + 8 < n; i++) if (c[i] != (unsigned char)(tag + i)) return 1;
  return 0;
}

static u32 rng_state[MAX_THREADS];
static u32 rnd(int id) {
  u32 x = rng_state[id];
  x ^= x << 13; x ^= x >> 17; x ^= x << 5;
  return rng_state[id] = x;
}

#define POOL 256

int work(int id, int nthreads, int ops, u32 seed) {
  u32 pool[POOL];
  int n = 0, problems = 0;
  int next = (id + 1) % nthreads;
  rng_state[id] = seed | 1;
  for (int i = 0; i < ops; i++) {
    u32 r = rnd(id);
    u32 got = receive(id);
    if (got) { problems += check((u32 *)got); free((void *)got); continue; }
    if ((r & 1) && n < POOL) {
      u32 size = 16 + (r >> 8) % 2000;
      u32 *b = (u32 *)malloc(size);
      if (!b) { problems++; continue; }
      if ((size_t)b & 7) problems++;
      fill(b, size, (u32)id * 0x01000000u + (u32)i);
      if ((r & 2) && send(next, (u32)b)) continue;
      pool[n++] = (u32)b;
    } else if (n > 0) {
      u32 k = (r >> 4) % (u32)n;
      problems += check((u32 *)pool[k]);
      free((void *)pool[k]);
      pool[k] = pool[--n];
    }
  }
  for (int k = 0; k < n; k++) { problems += check((u32 *)pool[k]); free((void *)pool[k]); }
  /* Wait until nobody sends any more, then free what is left in my ring. */
  __atomic_fetch_add(&finished, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < (u32)nthreads)
    __builtin_wasm_memory_atomic_wait32((int *)&finished, (int)__atomic_load_n(&finished, __ATOMIC_ACQUIRE), 1000000);
  __builtin_wasm_memory_atomic_notify((int *)&finished, 1000);
  for (u32 p = receive(id); p; p = receive(id)) { problems += check((u32 *)p); free((void *)p); }
  return problems;
}
