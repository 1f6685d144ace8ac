// harness.mjs — timing helpers shared by the benchmarks: interleaved runs, medians, ratio tables.
//
// A figure is the median of `runs` timed repetitions; a benchmark and its baseline are measured in the
// same process, interleaved run by run, so that machine noise hits both alike. Absolute times are context;
// the ratios are the result.

/** ns per operation of fn(ops) (fn runs `ops` operations), median of runs, interleaved with others. */
export function measure(cases, { runs = 9, warmup = 2 } = {}) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < warmup + runs; r++) {
    for (const [name, { fn, ops }] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      fn(ops);
      const dt = Number(process.hrtime.bigint() - t0);
      if (r >= warmup) samples[name].push(dt / ops);
    }
  }
  const out = {};
  for (const [name, xs] of Object.entries(samples)) out[name] = median(xs);
  return out;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(x, digits = 2) {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Print a table: rows of [label, ...cells]. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  console.log(line(all[0]));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const r of all.slice(1)) console.log(line(r));
}
