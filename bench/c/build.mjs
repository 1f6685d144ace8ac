// build.mjs — the tools and builds of the C malloc workloads (bench/c/mbench.c) for every peer, shared by
// bench/malloc-peers.mjs and bench/profile-malloc.mjs.
//
// Owns: which system packages each peer needs and installing them (apt-get, as .ci/run installs clang),
// and the peer builds. Entry points:
//   ensurePeerTools(keys, log)  make the tools of `keys` present; returns what is still missing
//   buildWasmPeers(dir, opts)   the wasm32-wasi builds: wasm-slab merged, dlmalloc, AS's TLSF merged, bump
//   buildNative(dir)            gcc -O2 mbench (glibc; jemalloc and mimalloc through LD_PRELOAD)
//   buildZeroPeer(dir)          mbench with bench/c/zero.c (a zero-cost malloc/free, LTO-inlined): the mix's floor
//   nativeLib(name)             the path of an installed shared library, or undefined
// Called by: malloc-peers.mjs, profile-malloc.mjs, harness-bound.mjs. Calls: scripts/merge-c.mjs, asc (for the TLSF peer).
// Invariants: nothing is installed unless the process runs as root on a system with apt-get; otherwise
// the caller is told exactly which package is missing, and decides (malloc-peers fails unless asked to
// run without it).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { mergeC } from "../../scripts/merge-c.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const has = (cmd, args = ["--version"]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];

export const nativeLib = (name) => LIB_DIRS.map((d) => join(d, name)).find(existsSync);

function clangMajor() {
  const r = spawnSync("clang", ["-dumpversion"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split(".")[0] : "14";
}
const wasmRuntimeLib = () =>
  spawnSync("sh", ["-c", "ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"], { stdio: "ignore" }).status === 0;

// What each peer needs, how to check it, and the Debian packages that provide it.
const TOOLS = {
  wasm: {
    what: "clang, wasm-ld, wasi-libc and clang's wasm32 runtime (the Wasm peers)",
    ok: () => has("clang") && has("wasm-ld") && existsSync("/usr/lib/wasm32-wasi/libc.a") && wasmRuntimeLib(),
    pkgs: () => ["clang", "lld", "wasi-libc", `libclang-rt-${clangMajor()}-dev-wasm32`],
  },
  gcc: { what: "gcc (the native peers)", ok: () => has("gcc"), pkgs: () => ["gcc", "libc6-dev"] },
  jemalloc: { what: "libjemalloc.so.2 (native jemalloc peer)", ok: () => !!nativeLib("libjemalloc.so.2"), pkgs: () => ["libjemalloc2"] },
  mimalloc: { what: "libmimalloc.so.2 (native mimalloc peer)", ok: () => !!nativeLib("libmimalloc.so.2"), pkgs: () => ["libmimalloc2.0"] },
};

/** Install what `keys` (of TOOLS) lack when running as root with apt-get; return what is still missing,
 * each as { key, what, pkgs }. */
export function ensurePeerTools(keys, log = console.error) {
  const lacking = () => keys.filter((k) => !TOOLS[k].ok());
  let missing = lacking();
  if (missing.length && process.getuid?.() === 0 && has("apt-get", ["--version"])) {
    const pkgs = [...new Set(missing.flatMap((k) => TOOLS[k].pkgs()))];
    const install = () => spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...pkgs], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
    log(`installing ${pkgs.join(" ")} (apt-get) ...`);
    if (!install()) {
      spawnSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"] });
      install();
    }
    missing = lacking();
  }
  return missing.map((k) => ({ key: k, what: TOOLS[k].what, pkgs: TOOLS[k].pkgs() }));
}

const WASI = ["--target=wasm32-wasi", "-O2", "-Wl,--export=__heap_base"];
const SRC = join(here, "mbench.c");

/** The C program's __heap_base and its memory's initial pages (where a merged allocator's heap starts). */
export function heapBaseOf(file) {
  const m = binaryen.readBinary(readFileSync(file));
  try {
    let base = 0;
    for (let i = 0; i < m.getNumExports(); i++) {
      const e = binaryen.getExportInfo(m.getExportByIndex(i));
      if (e.name === "__heap_base") base = binaryen.getExpressionInfo(binaryen.getGlobalInfo(m.getGlobal(e.value)).init).value;
    }
    return { heapBase: base, initialPages: m.getMemoryInfo().initial };
  } finally {
    m.dispose();
  }
}

/**
 * The Wasm peers in `dir`: { own, slab, dl, tlsf, bump } file paths.
 *   own   mbench.c + c/slab_shim.c, not yet merged (profile-malloc.mjs merges its own builds)
 *   slab  own merged with wasm-slab (`slab`: another build of assembly/merged.ts; `names`: keep names; `inline`:
 *         false skips merge-c's inlining of malloc and free into their C callers)
 *   dl    mbench.c with wasi-libc's dlmalloc
 *   tlsf  own merged with bench/c/tlsf-peer.ts (AssemblyScript's TLSF) instead of wasm-slab
 *   bump  mbench.c + bench/c/bump.c (never frees)
 */
export function buildWasmPeers(dir, { slab, names = false, inline = true } = {}) {
  const out = (n) => join(dir, n);
  execFileSync("clang", [...WASI, `-I${join(root, "c")}`, SRC, join(root, "c", "slab_shim.c"), "-o", out("own.wasm")]);
  mergeC(out("own.wasm"), out("slab.wasm"), { ...(slab ? { slab } : {}), names, inline });
  execFileSync("clang", [...WASI, SRC, "-o", out("dlmalloc.wasm")]);
  execFileSync("clang", [...WASI, SRC, join(here, "bump.c"), "-o", out("bump.wasm")]);
  // AssemblyScript's TLSF: its data (and so its heap) above the C program's, in the memory they share
  const { heapBase, initialPages } = heapBaseOf(out("own.wasm"));
  execFileSync(process.execPath, [join(root, "node_modules", "assemblyscript", "bin", "asc.js"), join(here, "tlsf-peer.ts"),
    "--runtime", "minimal", "-O3", "--noAssert", "--importMemory", "--noExportMemory", "--use", "abort=",
    "--memoryBase", String((heapBase + 15) & ~15), "--initialMemory", String(initialPages), "--outFile", out("tlsf-peer.wasm")],
  { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  mergeC(out("own.wasm"), out("tlsf.wasm"), { slab: out("tlsf-peer.wasm"), names });
  return { own: out("own.wasm"), slab: out("slab.wasm"), dl: out("dlmalloc.wasm"), tlsf: out("tlsf.wasm"), bump: out("bump.wasm") };
}

/** mbench.c linked with bench/c/zero.c under -flto (malloc and free inlined into the mix loop): for `mbench mix`
 * only (harness-bound.mjs), never for traces. The memory starts at 256 pages: zero.c never grows it. */
export function buildZeroPeer(dir) {
  const out = join(dir, "zero.wasm");
  execFileSync("clang", [...WASI, "-flto", `-Wl,--initial-memory=${256 * 65536}`, SRC, join(here, "zero.c"), "-o", out]);
  return out;
}

/** gcc -O2 of mbench.c (run as is for glibc, with LD_PRELOAD for jemalloc and mimalloc). */
export function buildNative(dir) {
  execFileSync("gcc", ["-O2", SRC, "-o", join(dir, "mbench")]);
  return join(dir, "mbench");
}
