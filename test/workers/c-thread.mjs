// c-thread.mjs — one Worker of test/threads-c.test.ts: attach to the shared heap, instantiate the
// threaded C program (c/threads_demo.c) over the same memory with this instance's malloc/free, give it
// a stack of its own, and run work(). The result: problems found (0 expected), and the CPU it ran on.
import { attachAllocator } from "../../dist/index.js";
import { parentPort, workerData } from "node:worker_threads";

const { handle, module, id, nthreads, ops, stackBytes } = workerData;
try {
  const heap = await attachAllocator(handle);
  const imports = heap.imports();
  const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory, malloc: imports.env.malloc, free: imports.env.free } });
  const stack = heap.malloc(stackBytes);                    // this thread's C stack, from the heap itself
  instance.exports.__stack_pointer.value = stack + stackBytes;
  const problems = instance.exports.work(id, nthreads, ops, 0x2545f491 + id * 977);
  heap.free(stack);
  const cpu = heap.cpu;
  heap.releaseCpu();
  parentPort.postMessage({ ok: true, problems, cpu, reports: heap.reports().map(String) });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String(e && e.stack ? e.stack : e) });
}
