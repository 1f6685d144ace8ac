// profile-builds.mjs — one release build of the module, instantiated on its own memory with a heap and a
// 64-byte cache, for the A/B probes bench/profile-bulk.mjs and bench/profile-pair.mjs.
//
// Owns: nothing but the set-up. Entry point: loadBuild(file, flags) → { file, w (the raw exports), memory,
// cache }. Called by: profile-bulk.mjs, profile-pair.mjs. Calls the raw ABI (slab_init, pin_cpu,
// cache_create); `flags` are cache flags (256 = F_INUSE).
import { readFileSync } from "node:fs";

export async function loadBuild(file, flags = 0) {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { env: { memory, hook: () => 0 } });
  const w = instance.exports;
  if (w.slab_init(w.data_end(), 1, 1, 0) !== 0 || w.pin_cpu(0) !== 0) throw new Error(`${file}: slab_init failed`);
  const cache = w.cache_create(64, 8, flags, 0xffffffff);
  if (cache === 0) throw new Error(`${file}: cache_create failed`);
  return { file, w, memory, cache };
}
