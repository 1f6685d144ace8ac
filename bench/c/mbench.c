/* mbench.c — the C workloads of bench/malloc-peers.mjs, built unchanged for every peer: wasm-slab merged
 * in, wasi-libc's dlmalloc, a bump allocator (all wasm32-wasi), and native gcc with glibc (jemalloc and
 * mimalloc through LD_PRELOAD).
 *
 *   mbench mix N                 N operations of a malloc/free mix, no payload work
 *   mbench traces REPS FILE...   each trace replayed REPS times, payload filled and checked
 *   mbench oracle REPS FILE      the same replay's program work alone, at the layout the allocator gave
 *
 * mix: 4096 slots; each operation picks a slot at random (a fixed LCG): an empty slot gets malloc(size)
 *   with size 8..512 (skewed small: 8 << r, plus noise), a full slot is freed. About half the operations
 *   are mallocs. Prints "mix ops=N ns_per_op=X cpu_ns_per_op=Y".
 * traces: a = malloc(size) + memset(block, pattern, size); f = check the head and tail of the block
 *   (16 bytes each), free; r = check, realloc, check the kept head and tail, fill the grown part. At the
 *   end of each repetition every live block is freed. Prints, per trace, "trace NAME ops=N reps=R
 *   seconds=S cpu=C peak_live=B errors=E" (errors: payload mismatches or misaligned blocks), then "realloc NAME
 *   calls=C moved=M copied=B": realloc calls of all repetitions, how many moved the block, and the bytes
 *   those moves had to carry (min(old, new) size) — bench/profile-malloc.mjs reports them.
 * oracle: ORACLE_WARM real repetitions (untimed: a new heap's growth and first touches of its memory), then
 *   REPS timed real ones (the warm heap's replay: warm_seconds, warm_cpu), one more that records where
 *   every malloc and realloc put its block, then REPS timed repetitions that use the recorded addresses
 *   and call no allocator: malloc is a load, free nothing, a moving realloc a memmove. That is the time an
 *   allocator costing nothing would give with this allocator's layout on a warm heap (bench/harness-bound.mjs).
 *   Prints "oracle NAME ops=N reps=R warm_seconds=W warm_cpu=WC seconds=S cpu=C errors=E". One trace a
 *   process: the freed blocks get payload, so the allocator's metadata in them is gone and nothing may
 *   call it afterwards.
 * Two clocks time each workload: wall (CLOCK_MONOTONIC: seconds, ns_per_op) and the process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: cpu, cpu_ns_per_op; under Node's WASI uv_getrusage, microseconds). The runs are
 * single-threaded (bench/wasm-run.mjs runs V8 --single-threaded), so CPU time is the workload's own, and
 * time this process spent descheduled by other load on a shared machine is not in it.
 * The program's own data (the trace text, operations, block tables) is static, so a Wasm peer's memory
 * above __heap_base holds only what the allocator took: that is the footprint the runner measures.
 * Built with -DMBENCH_HOOK (bench/util-peers.mjs --breakdown only, never a timed build), the trace replay
 * calls the imported env.mbench_hook(live) after every operation, so the runner can look at the heap at
 * its high-water point (bench/wasm-run.mjs --breakdown).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- mix ---- */
#define SLOTS 4096
static void *slot[SLOTS];

__attribute__((noinline)) static void mix(long n) {
  uint32_t x = 2463534242u;
  double t0 = now(), c0 = cpu();
  for (long i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    uint32_t k = x & (SLOTS - 1);
    if (slot[k]) {
      free(slot[k]);
      slot[k] = 0;
    } else {
      size_t size = ((size_t)8 << ((x >> 12) % 7)) + ((x >> 20) & 7) * 8 - 8; /* 8..512 */
      slot[k] = malloc(size);
      if (!slot[k]) { printf("mix: out of memory\n"); exit(1); }
    }
  }
  double t = now() - t0, c = cpu() - c0;
  for (int k = 0; k < SLOTS; k++) free(slot[k]);
  printf("mix ops=%ld ns_per_op=%.3f cpu_ns_per_op=%.3f\n", n, t * 1e9 / n, c * 1e9 / n);
}

/* ---- traces ---- */
#ifdef MBENCH_HOOK
__attribute__((import_module("env"), import_name("mbench_hook"))) void mbench_hook(size_t live);
#define HOOK(live) mbench_hook(live)
#else
#define HOOK(live) ((void)0)
#endif

/* 128 bytes short of 4 MiB: the oracle mode's strings took 128 bytes of static data, and this keeps
 * __heap_base (where a merged allocator's heap starts) where it was before them. wasm-slab's utilization
 * on some traces moves with its heap's start: those 128 bytes moved realloc-bal 80.4% -> 64.0% and
 * amptjp-bal 97.0% -> 94.0% (bench/PROFILE.md "The heap's start", session 11). */
#define MAX_TEXT ((4 << 20) - 128)
#define ORACLE_WARM 3 /* oracle mode: untimed real repetitions first, so what it times is a warm heap, not a new one */
#ifndef ORACLE_WARM_REPS /* oracle mode: timed real repetitions (the default: REPS). bench/layout-cg.mjs builds with -DORACLE_WARM_REPS=1, */
#define ORACLE_WARM_REPS reps /* so that two runs' difference in cachegrind is oracle replays alone */
#endif
#define MAX_OPS (1 << 18)
#define MAX_IDS (1 << 16)
/* The trace's text is read once, then parsed into op_kind/op_id/op_size and not read again; the oracle mode
 * keeps its recorded addresses in the same bytes, so that it adds no static data (see MAX_TEXT). */
static union { char text[MAX_TEXT]; unsigned char *rec[MAX_OPS]; } buf;
_Static_assert(sizeof(buf.rec) <= sizeof(buf.text), "rec fits in the text's bytes");
#define text (buf.text)
#define rec (buf.rec)
static int32_t op_kind[MAX_OPS], op_id[MAX_OPS];
static uint32_t op_size[MAX_OPS];
static unsigned char *blk[MAX_IDS];
static uint32_t blk_size[MAX_IDS];
static int n_ids; /* 1 + the largest id of the loaded trace: the end-of-repetition sweep stops there */
static long errors;
static long realloc_calls, realloc_moved;
static double realloc_copied;

static int load(const char *path, int *nops) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long len = 0, r;
  while ((r = read(fd, text + len, MAX_TEXT - 1 - len)) > 0) len += r;
  close(fd);
  text[len] = 0;
  char *s = text;
  n_ids = 0;
  for (int h = 0; h < 4; h++) { strtol(s, &s, 10); }
  int n = 0;
  for (;;) {
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
    if (!*s) break;
    char c = *s++;
    long id = strtol(s, &s, 10);
    long size = 0;
    if (c == 'a' || c == 'r') size = strtol(s, &s, 10);
    if (n >= MAX_OPS || id >= MAX_IDS) return -2;
    if (id + 1 > n_ids) n_ids = (int)id + 1;
    op_kind[n] = c; op_id[n] = (int32_t)id; op_size[n] = (uint32_t)size;
    n++;
  }
  *nops = n;
  return 0;
}

static unsigned char pat(int id) { return (unsigned char)(id * 151 + 1); }

static void fill(unsigned char *p, uint32_t from, uint32_t n, int id) { if (n > from) memset(p + from, pat(id), n - from); }

static void check(const unsigned char *p, uint32_t n, int id) {
  unsigned char v = pat(id);
  uint32_t head = n < 16 ? n : 16;
  for (uint32_t i = 0; i < head; i++) if (p[i] != v) { errors++; return; }
  for (uint32_t i = n - head; i < n; i++) if (p[i] != v) { errors++; return; }
}

static void aligned(const void *p, uint32_t n) {
  if (p && ((uintptr_t)p & (n >= 16 ? 15 : 7))) errors++;
}

/* One repetition of the loaded trace. REPLAY is the timed replay through the allocator; RECORD is the same
 * and also keeps each malloc's and realloc's result in rec[]; ORACLE replays a recorded layout with no
 * allocator at all (see the oracle mode below). The mode is a constant at each call, so each of the three
 * functions built from this body holds only its own mode's code: the timed replay is the body with
 * mode == REPLAY and nothing else. */
enum { REPLAY, RECORD, ORACLE };

__attribute__((always_inline)) static inline size_t replay_body(int nops, int mode) {
  size_t live = 0, peak = 0;
  for (int i = 0; i < nops; i++) {
    int id = op_id[i];
    uint32_t n = op_size[i];
    if (op_kind[i] == 'a') {
      unsigned char *p = mode == ORACLE ? rec[i] : malloc(n);
      if (mode == RECORD) rec[i] = p;
      if (!p && n) { errors++; continue; }
      aligned(p, n);
      fill(p, 0, n, id);
      blk[id] = p; blk_size[id] = n;
      live += n;
    } else if (op_kind[i] == 'f') {
      if (id < 0) { if (mode != ORACLE) free(0); continue; }
      if (blk[id]) { check(blk[id], blk_size[id], id); live -= blk_size[id]; }
      if (mode != ORACLE) free(blk[id]);
      blk[id] = 0;
    } else {
      unsigned char *old = blk[id];
      uint32_t was = old ? blk_size[id] : 0;
      if (old) check(old, was, id);
      unsigned char *p;
      if (mode == ORACLE) {
        p = rec[i];
        if (p && old && p != old) memmove(p, old, was < n ? was : n);
      } else {
        p = realloc(old, n);
        if (mode == RECORD) rec[i] = p;
      }
      realloc_calls++;
      if (p && old && p != old) { realloc_moved++; realloc_copied += was < n ? was : n; }
      live = live - was + n;
      if (n == 0) { blk[id] = 0; continue; }
      if (!p) { errors++; continue; }
      aligned(p, n);
      if (was) check(p, was < n ? was : n, id);
      fill(p, was, n, id);
      blk[id] = p; blk_size[id] = n;
    }
    if (live > peak) peak = live;
    HOOK(live);
  }
  for (int id = 0; id < n_ids; id++) if (blk[id]) { if (mode != ORACLE) free(blk[id]); blk[id] = 0; }
  return peak;
}

/* Called through a volatile pointer (replay_fn; mix likewise): neither clang nor wasm-opt inlines it into
 * main, so bench/profile-malloc.mjs can count only the samples under replay (the timed region). */
__attribute__((noinline)) static size_t replay(int nops) { return replay_body(nops, REPLAY); }
__attribute__((noinline)) static size_t replay_record(int nops) { return replay_body(nops, RECORD); }
__attribute__((noinline)) static size_t replay_oracle(int nops) { return replay_body(nops, ORACLE); }

static size_t (*volatile replay_fn)(int) = replay;
static void (*volatile mix_fn)(long) = mix;

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3 && strcmp(argv[1], "mix") == 0) {
    mix_fn(atol(argv[2]));
    return 0;
  }
  if (argc >= 4 && strcmp(argv[1], "traces") == 0) {
    int reps = atoi(argv[2]);
    for (int f = 3; f < argc; f++) {
      int nops = 0;
      if (load(argv[f], &nops) != 0) { printf("cannot load %s\n", argv[f]); return 1; }
      const char *name = strrchr(argv[f], '/');
      name = name ? name + 1 : argv[f];
      errors = 0;
      realloc_calls = realloc_moved = 0;
      realloc_copied = 0;
      size_t peak = 0;
      double t0 = now(), c0 = cpu();
      for (int r = 0; r < reps; r++) peak = replay_fn(nops);
      double t = now() - t0, c = cpu() - c0;
      printf("trace %s ops=%d reps=%d seconds=%.6f cpu=%.6f peak_live=%zu errors=%ld\n", name, nops, reps, t, c, peak, errors);
      printf("realloc %s calls=%ld moved=%ld copied=%.0f\n", name, realloc_calls, realloc_moved, realloc_copied);
    }
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "oracle") == 0) {
    int reps = atoi(argv[2]), nops = 0;
    if (load(argv[3], &nops) != 0) { printf("cannot load %s\n", argv[3]); return 1; }
    const char *name = strrchr(argv[3], '/');
    name = name ? name + 1 : argv[3];
    errors = 0;
    for (int r = 0; r < ORACLE_WARM; r++) replay_fn(nops);
    double w0 = now(), wc0 = cpu();
    for (int r = 0; r < ORACLE_WARM_REPS; r++) replay_fn(nops);
    double w = now() - w0, wc = cpu() - wc0;
    replay_record(nops);
    long recorded_errors = errors;
    errors = 0;
    double t0 = now(), c0 = cpu();
    for (int r = 0; r < reps; r++) replay_oracle(nops);
    double t = now() - t0, c = cpu() - c0;
    printf("oracle %s ops=%d reps=%d warm_seconds=%.6f warm_cpu=%.6f seconds=%.6f cpu=%.6f errors=%ld\n", name, nops, reps, w, wc, t, c,
           errors + recorded_errors);
    return 0; /* the allocator's freed memory now holds payload: nothing may call it again */
  }
  fprintf(stderr, "usage: mbench mix N | mbench traces REPS FILE... | mbench oracle REPS FILE\n");
  return 2;
}
