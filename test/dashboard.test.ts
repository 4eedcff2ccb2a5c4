// Issue #21 acceptance: Debian's Chromium (headless, over the DevTools protocol) drives the dashboard of
// a real 2-node `peerstack lab` (agents in network namespaces, a QEMU guest under TCG): log in on node 1,
// create a server, see it ACTIVE without reloading, read its console log, stop it; log in on node 2 and
// see the same server; an admin sees both hosts' capacity; a member gets no admin pages (and the API
// refuses them); log out revokes the token on every node; names from the API render as text, never
// markup. No console errors in any page. Screenshots go to .peerstack/artifacts/dashboard/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type Browser, type Page } from "./helpers/browser.ts";
import { labClient } from "./helpers/lab-client.ts";

const NAME = `psdb${process.pid % 10000}`;
const SUBNET = `10.243.${process.pid % 250}`;
const TMP = mkdtempSync(join(tmpdir(), "psdash-"));
const DIR = join(TMP, "lab");
const SHOTS = resolve(import.meta.dirname, "../.peerstack/artifacts/dashboard");
const L = labClient({ dir: DIR, name: NAME, subnet: SUBNET });
const say = (line: string) => process.stdout.write(`dashboard: ${line}\n`);
const js = (v: unknown) => JSON.stringify(v);

function openrc(file: string): Record<string, string> {
  return Object.fromEntries([...readFileSync(join(DIR, file), "utf8").matchAll(/^export (OS_\w+)='?([^'\n]*)'?$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Sets a form control (by CSS selector) as a user typing would: value, then input and change events. */
const fill = (page: Page, selector: string, value: string) =>
  page.eval(`(() => { const el = document.querySelector(${js(selector)}); if (!el) throw new Error("no " + ${js(selector)}); el.value = ${js(value)}; el.dispatchEvent(new Event("input", { bubbles: true })); el.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`);
/** Picks the option whose text starts with `text` in a select. */
const choose = (page: Page, selector: string, text: string) =>
  page.eval(`(() => { const el = document.querySelector(${js(selector)}); const o = [...el.options].find((o) => o.text.startsWith(${js(text)})); if (!o) throw new Error("no option " + ${js(text)} + " in " + ${js(selector)}); el.value = o.value; el.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`);
/** Clicks the button labelled `label` in the table row of `rowText` (or anywhere when rowText is empty). */
const clickIn = (page: Page, rowText: string, label: string) =>
  page.eval(`(() => { const scope = ${js(rowText)} ? [...document.querySelectorAll("tbody tr")].find((tr) => tr.cells[0]?.textContent === ${js(rowText)}) : document; if (!scope) throw new Error("no row " + ${js(rowText)}); const b = [...scope.querySelectorAll("button")].find((b) => b.textContent === ${js(label)}); if (!b) throw new Error("no button " + ${js(label)}); b.click(); return true; })()`);
const rowStatus = (name: string) => `[...document.querySelectorAll("tbody tr")].find((tr) => tr.cells[0]?.textContent === ${js(name)})?.querySelector(".status")?.textContent`;

async function logIn(page: Page, k: number, rc: Record<string, string>): Promise<void> {
  await page.goto(`${L.url(k)}/dashboard/`);
  await page.waitFor("document.querySelector('form[aria-label=\"Log in\"]')", "the login form");
  await fill(page, "input[name=user]", rc.OS_USERNAME!);
  await fill(page, "input[name=password]", rc.OS_PASSWORD!);
  await fill(page, "input[name=project]", rc.OS_PROJECT_NAME!);
  await page.eval("document.querySelector('form[aria-label=\"Log in\"] button').click(), true");
  await page.waitFor("document.querySelector('h2')?.textContent === 'Servers' && document.querySelector('form[aria-label=\"Create server\"]')", `the servers page for ${rc.OS_USERNAME}`);
}

describe("issue #21: the dashboard in Chromium against a lab of 2", () => {
  let browser: Browser;
  let member1: Page;
  const pages: Page[] = [];
  let demo: Record<string, string>;
  let admin: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const r = L.lab("up", "--nodes", "2", "--subnet", SUBNET);
    if (r.code !== 0) throw new Error(`lab up failed:\n${r.out}`);
    demo = openrc("openrc");
    admin = openrc("admin-openrc");
    browser = await launchBrowser();
  }, 300_000);
  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => {});
    await browser?.close();
    L.lab("down");
    rmSync(TMP, { recursive: true, force: true });
  }, 60_000);

  const open = async (size?: { width: number; height: number; mobile?: boolean }) => {
    const p = await browser.newPage(size);
    pages.push(p);
    return p;
  };

  it("node 1: log in, create a server from the form, see it ACTIVE live, read its console log, stop it", async () => {
    member1 = await open();
    const t0 = Date.now();
    await logIn(member1, 1, demo);
    const paint = await member1.eval<number>("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1");
    say(`login to servers page ${Date.now() - t0} ms; first contentful paint ${paint.toFixed(0)} ms; ${member1.bytesLoaded()} bytes loaded (pages + API answers)`);
    await member1.screenshot(join(SHOTS, "servers-empty.png"));
    await member1.waitFor("document.querySelector('select[name=image]')?.options.length > 0", "the image choices");
    await fill(member1, "form[aria-label='Create server'] input[name=name]", "dash-1");
    await choose(member1, "select[name=flavor]", "m1.tiny");
    await choose(member1, "select[name=image]", "peerstack-test");
    await choose(member1, "select[name=network]", "demo");
    await member1.eval("document.querySelector('form[aria-label=\"Create server\"] button[type=submit]').click(), true");
    await member1.waitFor(`${rowStatus("dash-1")}`, "the row of dash-1");
    const t1 = Date.now();
    await member1.waitFor(`${rowStatus("dash-1")} === "ACTIVE"`, "dash-1 ACTIVE in the list (no reload)", 300_000);
    say(`dash-1 ACTIVE in the page ${((Date.now() - t1) / 1000).toFixed(1)} s after its row appeared`);
    await member1.screenshot(join(SHOTS, "servers-active.png"));
    await clickIn(member1, "dash-1", "Console log");
    const text = await member1.waitFor<string>("(() => { const t = document.querySelector('pre.console')?.textContent ?? ''; return /PEERSTACK-READY/.test(t) && t; })()", "PEERSTACK-READY in the console log", 120_000);
    expect(text).toMatch(/PEERSTACK-READY hostname=dash-1/);
    await member1.screenshot(join(SHOTS, "console.png"));
    await clickIn(member1, "dash-1", "Stop");
    await member1.waitFor(`${rowStatus("dash-1")} === "SHUTOFF"`, "dash-1 SHUTOFF", 120_000);
    expect(member1.errors).toEqual([]);
  }, 600_000);

  it("node 2: another browser logs in there and sees the same server, stopped", async () => {
    const p = await open();
    await logIn(p, 2, demo);
    await p.waitFor(`${rowStatus("dash-1")} === "SHUTOFF"`, "dash-1 SHUTOFF as seen through node 2", 30_000);
    const node = await p.eval<string>("document.getElementById('node').textContent");
    expect(node).toMatch(/node n2/);
    const phone = await open({ width: 390, height: 844, mobile: true });
    await logIn(phone, 2, demo);
    await phone.waitFor(rowStatus("dash-1"), "dash-1 on a phone-width page");
    await phone.screenshot(join(SHOTS, "servers-phone.png"));
    expect([...p.errors, ...phone.errors]).toEqual([]);
  }, 120_000);

  it("an admin sees both hosts with capacity bars; the stopped server still holds its host's vCPU", async () => {
    const p = await open();
    await logIn(p, 2, admin);
    expect(await p.eval<number>("document.querySelectorAll('nav a[href^=\"#/admin/\"]').length")).toBe(4);
    await p.eval("location.hash = '#/admin/hosts', true");
    const hosts = await p.waitFor<Array<{ host: string; bars: string[] }>>("(() => { const s = [...document.querySelectorAll('section.host')]; return s.length === 2 && s.map((x) => ({ host: x.dataset.host, bars: [...x.querySelectorAll('.bar-text')].map((b) => b.textContent) })); })()", "two hosts on the admin hosts page");
    say(`admin hosts page: ${js(hosts)}`);
    expect(hosts.map((x) => x.host).sort()).toEqual(["n1", "n2"]);
    const vcpusUsed = hosts.map((x) => Number(x.bars[0]!.split(" / ")[0]));
    expect(vcpusUsed.sort()).toEqual([0, 1]);
    await p.screenshot(join(SHOTS, "admin-hosts.png"));
    for (const view of ["admin/identity", "admin/flavors", "admin/mesh", "quotas"]) {
      await p.eval(`location.hash = '#/${view}', true`);
      await p.waitFor("document.querySelector('main table, main .bar-row')", `the ${view} page`);
    }
    await p.screenshot(join(SHOTS, "quotas.png"));
    expect(p.errors).toEqual([]);
  }, 120_000);

  it("a member: no admin links, the admin page says not allowed, the API answers 403; API names render as text", async () => {
    expect(await member1.eval<number>("document.querySelectorAll('nav a[href^=\"#/admin/\"]').length")).toBe(0);
    await member1.eval("location.hash = '#/admin/hosts', true");
    await member1.waitFor("document.querySelector('h2')?.textContent === 'Not allowed'", "the not-allowed page");
    const token = await member1.eval<string>("JSON.parse(sessionStorage.getItem('peerstack.session')).token");
    expect((await L.call(1, "GET", "/compute/v2.1/os-hypervisors", token)).status).toBe(403);
    // A security group named as markup: shown as those characters; the handler never runs.
    const evil = `<img src=x onerror="window.__owned=1">`;
    await member1.eval("location.hash = '#/security-groups', true");
    await member1.waitFor("document.querySelector('form[aria-label=\"Create security group\"]')", "the security groups page");
    await fill(member1, "form[aria-label='Create security group'] input[name=name]", evil);
    await member1.eval("document.querySelector('form[aria-label=\"Create security group\"] button').click(), true");
    await member1.waitFor(`[...document.querySelectorAll('caption')].some((c) => c.textContent === ${js(evil)})`, "the markup-named group listed as text");
    expect(await member1.eval("window.__owned ?? null")).toBe(null);
    expect(await member1.eval<number>("document.querySelectorAll('main img').length")).toBe(0);
  }, 60_000);

  it("log out revokes the token: node 2 refuses it afterwards", async () => {
    await member1.eval("location.hash = '#/servers', true");
    await member1.waitFor("document.querySelector('h2')?.textContent === 'Servers'", "the servers page");
    const token = await member1.eval<string>("JSON.parse(sessionStorage.getItem('peerstack.session')).token");
    expect((await L.call(2, "GET", "/compute/v2.1/servers", token)).status).toBe(200);
    await member1.eval("document.getElementById('logout').click(), true");
    await member1.waitFor("document.querySelector('form[aria-label=\"Log in\"]') && sessionStorage.getItem('peerstack.session') === null", "the login form after log out");
    let st = 0;
    for (let i = 0; i < 40 && st !== 401; i++) {
      st = (await L.call(2, "GET", "/compute/v2.1/servers", token)).status;
      if (st !== 401) await new Promise((r) => setTimeout(r, 250));
    }
    expect(st).toBe(401);
    expect(member1.errors).toEqual([]);
  }, 60_000);
});
