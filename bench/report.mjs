// report.mjs — the results directory of one bench run: results.json, results.md and the SVG charts.
//
// Owns: machine facts (Node, V8, CPU model, git revision, date), gathering the `<section>.json` files the
// sections wrote through harness.writeSection, and rendering them.
// Entry points: machineInfo(root), writeReport(dir, run) → the files written.
// Called by: bench/run.mjs once every chosen section has run. Calls bench/svg.mjs for the charts.
//
// Layout of a results directory:
//   results.json        { machine, git, date, argv, sections: [{ name, what, status, exitCode, seconds,
//                         figures, tables, ...what the section wrote }], charts: [file...] }
//   results.md          the same as text: machine, goals summary, each section's tables, the charts
//   <section>.json      what each section wrote (harness.writeSection)
//   goals.svg           every figure that has a ratio and a goal (svg.goalChart)
//   <section>-<id>.svg  the charts a section asked for in its data (`charts: [spec...]`, see below), and
//                       any <section>-*.svg the section wrote itself (linked from results.md too)
// A chart spec in a section's data: { id, kind: "bars" | "lines", title, ...the spec of svg.barChart or
// svg.lineChart }. capacity asks for its capacity curves, malloc and replay for utilization per trace.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem, platform, arch, release } from "node:os";
import { join } from "node:path";
import { barChart, goalChart, lineChart } from "./svg.mjs";

/** Node, V8, OS, CPU and git facts of this run. */
export function machineInfo(root) {
  const git = (...a) => {
    try {
      return execFileSync("git", a, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const c = cpus();
  const status = git("status", "--porcelain", "--untracked-files=no");
  return {
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()} ${arch()}`,
    cpu: { model: c[0]?.model?.trim() ?? "unknown", cores: c.length },
    memoryBytes: totalmem(),
    git: { revision: git("rev-parse", "HEAD"), branch: git("rev-parse", "--abbrev-ref", "HEAD"), dirty: status === null ? null : status !== "" },
  };
}

/** Read the section's JSON, or null when it wrote none (or wrote something unreadable: reported). */
export function readSection(dir, name) {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    return { section: name, figures: [], tables: [], error: `unreadable ${name}.json: ${err.message}` };
  }
}

const md = (s) => String(s).replace(/\|/g, "\\|");
const mdTable = (header, rows) =>
  [`| ${header.map(md).join(" | ")} |`, `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.map(md).join(" | ")} |`)].join("\n");
const fx = (x, d = 3) => (Number.isFinite(x) ? Number(x.toFixed(d)).toString() : "–");

/**
 * Write results.json, results.md and the charts into `dir`.
 * run: { date, argv, machine, sections: [{ name, what, status, exitCode, seconds }] } (the section's
 * own JSON is merged in here). Returns the list of files written, relative to dir.
 */
export function writeReport(dir, run) {
  const sections = run.sections.map((s) => {
    const data = s.status === "skipped" ? null : readSection(dir, s.name);
    const { section: _ignored, ...rest } = data ?? {};
    return { ...s, figures: [], tables: [], ...rest };
  });
  const written = [];
  const charts = [];
  // goals: every figure with a ratio and a goal, all sections
  const goalRows = sections.flatMap((s) =>
    s.figures.filter((f) => Number.isFinite(f.ratio) && Number.isFinite(f.goal)).map((f) => ({ label: `${s.name}: ${f.name}`, section: s.name, ...f })),
  );
  if (goalRows.length) {
    writeFileSync(join(dir, "goals.svg"), goalChart(goalRows.map((r) => ({ ...r, label: r.label })), { subtitle: `${run.machine.cpu.model}, Node ${run.machine.node}, ${run.date}` }));
    charts.push({ file: "goals.svg", title: "Ratios against their goals", section: null });
  }
  for (const s of sections) {
    for (const spec of s.charts ?? []) {
      if (!spec || typeof spec.id !== "string" || !/^[a-z0-9-]+$/.test(spec.id)) continue;
      const file = `${s.name}-${spec.id}.svg`;
      const svg = spec.kind === "lines" ? lineChart(spec) : spec.kind === "bars" ? barChart(spec) : null;
      if (svg === null) continue;
      writeFileSync(join(dir, file), svg);
      charts.push({ file, title: spec.title, section: s.name });
    }
    // SVG files the section wrote itself (the contract allows <section>-*.svg)
    for (const file of readdirSync(dir).sort()) {
      if (file.startsWith(`${s.name}-`) && file.endsWith(".svg") && !charts.some((c) => c.file === file)) charts.push({ file, title: file.slice(0, -4), section: s.name });
    }
  }
  const result = { ...run, sections, charts: charts.map((c) => c.file) };
  writeFileSync(join(dir, "results.json"), JSON.stringify(result, null, 2) + "\n");
  written.push("results.json");

  const m = run.machine;
  const lines = [
    `# wasm-slab bench results, ${run.date}`,
    "",
    mdTable(
      ["machine", ""],
      [
        ["git revision", `${m.git.revision ?? "unknown"}${m.git.dirty ? " (with uncommitted changes)" : ""} (${m.git.branch ?? "?"})`],
        ["Node", `${m.node} (V8 ${m.v8})`],
        ["CPU", `${m.cpu.model}, ${m.cpu.cores} cores`],
        ["OS", m.os],
        ["command", run.argv.join(" ")],
        ["sections", sections.map((s) => `${s.name} (${s.status}, ${fx(s.seconds, 1)} s)`).join(", ")],
      ],
    ),
    "",
    "Every ratio is against a baseline measured in the same process and run (median of the runs stated in each section); absolute times are context.",
    "",
  ];
  if (goalRows.length) {
    lines.push("## Goals", "", `![ratios against their goals](goals.svg)`, "");
    lines.push(
      mdTable(
        ["section", "figure", "value", "baseline", "ratio", "goal", "reached"],
        goalRows.map((r) => [r.section, r.name, `${fx(r.value)} ${r.unit ?? ""}`.trim(), r.baseline ?? "", `${fx(r.ratio)}×`, `${r.better === "higher" ? "≥" : "≤"} ${r.goal}×`, r.reached ? "yes" : "**not reached**"]),
      ),
      "",
    );
  }
  for (const s of sections) {
    lines.push(`## ${s.name}: ${s.what}`, "");
    if (s.status !== "ok") lines.push(`Status: **${s.status}**${s.exitCode != null ? ` (exit code ${s.exitCode})` : ""}${s.reason ? `: ${s.reason}` : ""}.`, "");
    if (s.error) lines.push(`Error: ${s.error}`, "");
    for (const t of s.tables ?? []) {
      if (t.title) lines.push(`${t.title}`, "");
      lines.push(mdTable(t.header, t.rows), "");
    }
    if (!(s.tables ?? []).length && s.figures.length) {
      lines.push(mdTable(["figure", "value", "unit"], s.figures.map((f) => [f.name, fx(f.value), f.unit ?? ""])), "");
    }
    for (const c of charts.filter((c) => c.section === s.name)) lines.push(`![${c.title}](${c.file})`, "");
  }
  writeFileSync(join(dir, "results.md"), lines.join("\n"));
  written.push("results.md", ...charts.map((c) => c.file));
  return written;
}
