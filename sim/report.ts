// A self-contained report.html: inline SVG charts (utilisation over time, latency CDF, messages per
// placement, convergence) with the auction and the omniscient baseline side by side.
import type { SimMetrics } from "./result.ts";

type Series = { name: string; color: string; points: Array<[number, number]> };

function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const w = 520, h = 260, l = 50, b = 36, t = 24, r = 12;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1e-9, ...xs), yMax = Math.max(1e-9, ...ys);
  const X = (x: number) => l + (x / xMax) * (w - l - r);
  const Y = (y: number) => h - b - (y / yMax) * (h - b - t);
  // Later series are drawn thinner and dashed on top, so two identical curves both stay visible.
  const paths = series.map((s, i) => `<polyline fill="none" stroke="${s.color}" stroke-width="${i === 0 ? 4 : 2}"${i === 0 ? "" : ' stroke-dasharray="8 5"'} points="${s.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(" ")}"/>`).join("");
  const legend = series.map((s, i) => `<text x="${l + 10 + i * 150}" y="16" fill="${s.color}" font-size="12">■ ${esc(s.name)}</text>`).join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">
<line x1="${l}" y1="${h - b}" x2="${w - r}" y2="${h - b}" stroke="#444"/><line x1="${l}" y1="${t}" x2="${l}" y2="${h - b}" stroke="#444"/>
<text x="${l}" y="${h - 8}" font-size="11">0</text><text x="${w - r - 60}" y="${h - 8}" font-size="11">${fmt(xMax)} ${esc(xLabel)}</text>
<text x="4" y="${t + 4}" font-size="11">${fmt(yMax)}</text><text x="4" y="${h - b}" font-size="11">0</text><text x="${l + 4}" y="${t + 12}" font-size="10" fill="#666">${esc(yLabel)}</text>
${legend}${paths}</svg></figure>`;
}

function barChart(title: string, bars: Array<[string, number]>): string {
  const w = 520, rowH = 22, h = bars.length * rowH + 30;
  const max = Math.max(1e-9, ...bars.map((b) => b[1]));
  const rows = bars.map(([name, v], i) => `<text x="4" y="${24 + i * rowH + 12}" font-size="11">${esc(name)}</text><rect x="250" y="${24 + i * rowH}" height="16" width="${((v / max) * 220).toFixed(1)}" fill="#3a7bd5"/><text x="${254 + (v / max) * 220}" y="${24 + i * rowH + 12}" font-size="11">${fmt(v)}</text>`).join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">${rows}</svg></figure>`;
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(4);
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}

/** `scaling`: messages per placement at several sizes, for the flatness table. */
export function renderReport(m: SimMetrics, scaling: Array<{ nodes: number; perPlacement: number; advertsPerPlacement: number }> = []): string {
  const a = m.auction, base = m.baseline;
  const toS = (p: Array<[number, number]>): Array<[number, number]> => p.map(([t, v]) => [t / 1000, v]);
  const rows: Array<[string, string, string]> = [
    ["placed", String(a.placed), String(base.placed)],
    ["rejected (no valid host)", String(a.rejected), String(base.rejected)],
    ["rejected (quota)", String(a.quotaRejected), String(base.quotaRejected)],
    ["first rejection at (s)", a.firstRejectionMs === null ? "—" : fmt(a.firstRejectionMs / 1000), base.firstRejectionMs === null ? "—" : fmt(base.firstRejectionMs / 1000)],
    ["utilisation at first rejection", String(a.utilisationAtFirstRejection ?? "—"), String(base.utilisationAtFirstRejection ?? "—")],
    ["placement latency p50 / p99 (ms)", `${fmt(a.latencyMs.p50)} / ${fmt(a.latencyMs.p99)}`, "0 (instant)"],
  ];
  const table = `<table><tr><th></th><th>auction (peerstack)</th><th>omniscient baseline</th></tr>${rows.map((r) => `<tr><td>${esc(r[0])}</td><td>${esc(r[1])}</td><td>${esc(r[2])}</td></tr>`).join("")}</table>`;
  const scaleTable = scaling.length === 0 ? "" : `<h2>Messages per placement by mesh size</h2><table><tr><th>nodes</th><th>auction+quota msgs / placement</th><th>advert gossip msgs / placement</th></tr>${scaling.map((s) => `<tr><td>${s.nodes}</td><td>${fmt(s.perPlacement)}</td><td>${fmt(s.advertsPerPlacement)}</td></tr>`).join("")}</table>`;
  const violations = m.violations.length === 0 ? "<p>0 checker violations.</p>" : `<ul>${m.violations.map((v) => `<li>${esc(`${v.atMs} ms ${v.kind}: ${v.detail}`)}</li>`).join("")}</ul>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>peerstack sim — ${esc(m.scenario)}</title>
<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}figure{display:inline-block;margin:8px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>
<h1>${esc(m.scenario)} — seed ${m.seed}, ${m.nodes} nodes in ${m.azs} AZs</h1>
<p>Faults: <code>${esc(JSON.stringify(m.faults.settings))}</code>; ${m.faults.events.length} fault events.</p>
${table}
${lineChart("Utilisation over time (RAM)", "s", "fraction", [
  { name: "auction", color: "#d53a3a", points: toS(a.utilisation) },
  { name: "baseline", color: "#3a7bd5", points: toS(base.utilisation) },
])}
${lineChart("Placement latency CDF", "ms", "fraction", [{ name: "auction", color: "#d53a3a", points: a.latencyMs.cdf }])}
${barChart("Messages (whole run) by category", Object.entries(m.messages.byCategory))}
${barChart("Per placement request", [["auction+quota messages", m.messages.perPlacement], ["advert gossip messages", m.messages.advertsPerPlacement], ["bid attempts", a.meanAttempts]])}
<h2>Convergence</h2><p>Catalog replicas equal after the liveness phase: <b>${m.convergence.catalog}</b> (converged ${m.convergence.catalogConvergedAfterHealMs ?? "—"} ms after heal); capacity views match the ledgers: <b>${m.convergence.capacityViews}</b>; transient duplicate claims seen: ${m.convergence.transientDuplicates}.</p>
${scaleTable}
<h2>Checkers</h2>${violations}
</body></html>`;
}
