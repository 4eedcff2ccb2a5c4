// Tempest results as peerstack reports them: per area passed/failed/skipped, the failing ids with a
// one-line reason each, and a JUnit file. Pure functions over the parsed subunit records.

export interface TestResult {
  id: string;
  status: "success" | "fail" | "skip" | string;
  seconds: number;
  details: string;
}

export const AREAS = ["identity", "image", "network", "volume", "compute"] as const;
export type Area = (typeof AREAS)[number];

/** A test's stable key: its name before '[' plus its idempotent id (tempest ids carry more attributes). */
export function testKey(id: string): string {
  const name = id.split("[")[0]!;
  const idAttr = /\[(?:[^\]]*,)?(id-[0-9a-f-]+)/.exec(id)?.[1];
  return idAttr ? `${name}[${idAttr}]` : name;
}

/** tempest.api.<area>.…; a setUpClass pseudo-test names its class in parentheses. */
export function areaOf(id: string): string {
  const inner = /\((tempest\.[^)]+)\)/.exec(id)?.[1] ?? id;
  return inner.split(".")[2] ?? "other";
}

const EXCEPTION_LINE = /^([\w.]+(?:Error|Exception|Failure|Conflict|NotFound|Forbidden|BadRequest|Unauthorized|ServerFault|Timeout\w*|InvalidHTTPResponseBody|UnexpectedResponseCode|UnexpectedContentType|NotImplemented|Mismatch\w*)):?\s*(.*)$/;

/** One line saying why a test failed or was skipped, from its traceback or skip reason. */
export function reasonOf(r: TestResult): string {
  const lines = r.details.split("\n").map((l) => l.trim()).filter(Boolean);
  if (r.status === "skip") return clip(lines.join(" ") || "skipped");
  let reason = "";
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = EXCEPTION_LINE.exec(lines[i]!);
    if (!m) continue;
    const name = m[1]!.split(".").pop()!;
    // tempest puts the useful part on the lines after the exception: "Details: …", "Body: …"
    const more = lines.slice(i + 1).filter((l) => /^(Details|Body|Failed validating|On instance)/.test(l) || /is not valid under|Additional properties/.test(l));
    reason = [`${name}: ${m[2]}`.trim(), ...more].join(" ");
    break;
  }
  return clip(reason || lines.at(-1) || "failed (no traceback)");
}

function clip(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 240 ? `${one.slice(0, 237)}...` : one;
}

export interface AreaSummary {
  area: string;
  passed: number;
  failed: Array<{ id: string; reason: string }>;
  skipped: Array<{ id: string; reason: string }>;
}

/**
 * Per area. `expected` (keys of the selected tests) makes a selected test that never reported (its
 * class's setUpClass failed) count as failed, with the setUpClass reason.
 */
export function summarise(results: TestResult[], expected: string[] = []): AreaSummary[] {
  const byArea = new Map<string, AreaSummary>();
  const of = (id: string) => {
    const area = areaOf(id);
    let s = byArea.get(area);
    if (!s) byArea.set(area, (s = { area, passed: 0, failed: [], skipped: [] }));
    return s;
  };
  const seen = new Set<string>();
  const classFailures = new Map<string, string>();
  const classSkips = new Map<string, string>();
  for (const r of results) {
    const setup = /^(setUpClass|tearDownClass) \((tempest\.[^)]+)\)/.exec(r.id);
    if (setup) {
      if (r.status === "fail" && setup[1] === "setUpClass") classFailures.set(setup[2]!, reasonOf(r));
      if (r.status === "skip" && setup[1] === "setUpClass") classSkips.set(setup[2]!, reasonOf(r));
      continue;
    }
    const key = testKey(r.id);
    seen.add(key);
    if (r.status === "success") of(r.id).passed++;
    else if (r.status === "skip") of(r.id).skipped.push({ id: key, reason: reasonOf(r) });
    else of(r.id).failed.push({ id: key, reason: reasonOf(r) });
  }
  for (const key of expected) {
    if (seen.has(key)) continue;
    const cls = key.split("[")[0]!.split(".").slice(0, -1).join(".");
    // a class skipped as a whole (a feature flag) reports one setUpClass skip, not its tests
    if (classSkips.has(cls)) {
      of(key).skipped.push({ id: key, reason: classSkips.get(cls)! });
      continue;
    }
    of(key).failed.push({ id: key, reason: classFailures.has(cls) ? `setUpClass: ${classFailures.get(cls)}` : "did not run" });
  }
  // setUpClass failures of classes none of whose tests were expected still show, as one entry each
  if (expected.length === 0) for (const [cls, reason] of classFailures) of(cls).failed.push({ id: `setUpClass (${cls})`, reason });
  const order = (a: string) => (AREAS as readonly string[]).indexOf(a) + 1 || 99;
  return [...byArea.values()].sort((a, b) => order(a.area) - order(b.area));
}

export function formatSummary(areas: AreaSummary[], wallSeconds: number): string {
  const out: string[] = [];
  for (const a of areas) {
    out.push(`${a.area}: ${a.passed} passed, ${a.failed.length} failed, ${a.skipped.length} skipped`);
    for (const f of a.failed) out.push(`  FAIL ${f.id}\n       ${f.reason}`);
  }
  const total = areas.reduce((t, a) => ({ p: t.p + a.passed, f: t.f + a.failed.length, s: t.s + a.skipped.length }), { p: 0, f: 0, s: 0 });
  out.push(`total: ${total.p} passed, ${total.f} failed, ${total.s} skipped in ${wallSeconds.toFixed(0)} s`);
  return `${out.join("\n")}\n`;
}

/** The most common failure reasons (first 100 characters), most tests first. */
export function topReasons(areas: AreaSummary[], n = 10): Array<{ reason: string; count: number }> {
  const counts = new Map<string, number>();
  for (const a of areas) for (const f of a.failed) counts.set(f.reason.slice(0, 100), (counts.get(f.reason.slice(0, 100)) ?? 0) + 1);
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count).slice(0, n);
}

const xml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!).replace(/[^\x09\x0a\x0d\x20-\uffff]/g, "");

export function junitXml(results: TestResult[]): string {
  const cases = results.map((r) => {
    const name = r.id.split("[")[0]!;
    const dot = name.lastIndexOf(".");
    const head = `<testcase classname="${xml(name.slice(0, dot))}" name="${xml(r.id.slice(dot + 1))}" time="${r.seconds.toFixed(3)}"`;
    if (r.status === "success") return `  ${head}/>`;
    if (r.status === "skip") return `  ${head}><skipped message="${xml(reasonOf(r))}"/></testcase>`;
    return `  ${head}><failure message="${xml(reasonOf(r))}">${xml(r.details)}</failure></testcase>`;
  });
  const failures = results.filter((r) => r.status !== "success" && r.status !== "skip").length;
  const skipped = results.filter((r) => r.status === "skip").length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="tempest" tests="${results.length}" failures="${failures}" skipped="${skipped}">\n${cases.join("\n")}\n</testsuite>\n`;
}
