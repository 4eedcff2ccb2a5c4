// Debian's Chromium, headless, driven over the DevTools protocol (the WebSocket Node has built in): no
// browser download, no driver package. Each page is its own browser context (own sessionStorage and
// cookies), records console errors and uncaught exceptions, the bytes it loaded and its first paint.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Page {
  goto(url: string): Promise<void>;
  /** Evaluates an expression in the page (awaits a promise), returns its JSON value. */
  eval<T = unknown>(expression: string): Promise<T>;
  /** Polls until the expression is truthy; throws naming `what` and the page's status line. */
  waitFor<T = unknown>(expression: string, what: string, timeoutMs?: number): Promise<T>;
  screenshot(file: string): Promise<void>;
  /** Console errors, uncaught exceptions and failed loads the browser reported. */
  errors: string[];
  /** Encoded bytes of every response the page loaded. */
  bytesLoaded(): number;
  close(): Promise<void>;
}

export interface Browser {
  newPage(size?: { width: number; height: number; mobile?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export async function launchBrowser(executable = "chromium"): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "ps-chromium-"));
  const proc: ChildProcess = spawn(executable, ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
  const wsUrl = await new Promise<string>((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not open DevTools within 30 s: ${err.slice(-500)}`)), 30_000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on("error", (e) => reject(new Error(`chromium (${executable}) did not start: ${e.message}`)));
    proc.on("exit", (code) => reject(new Error(`chromium exited (${code}) before DevTools opened: ${err.slice(-500)}`)));
  });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`DevTools WebSocket ${wsUrl} did not open`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }>();
  const listeners = new Map<string, Array<(m: Message) => void>>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as Message;
    if (m.id !== undefined) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(`${p.method}: ${m.error.message}`));
      else p?.resolve(m.result ?? {});
    } else for (const f of listeners.get(m.sessionId ?? "") ?? []) f(m);
  };
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  async function newPage(size = { width: 1280, height: 800, mobile: false }): Promise<Page> {
    const { browserContextId } = await send("Target.createBrowserContext");
    const { targetId } = await send("Target.createTarget", { url: "about:blank", browserContextId });
    const { sessionId } = (await send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    const errors: string[] = [];
    let bytes = 0;
    let loaded: (() => void) | undefined;
    listeners.set(sessionId, [
      (m) => {
        const p = m.params ?? {};
        if (m.method === "Runtime.exceptionThrown") errors.push(`exception: ${JSON.stringify((p.exceptionDetails as { exception?: { description?: string } })?.exception?.description ?? p.exceptionDetails)}`);
        if (m.method === "Runtime.consoleAPICalled" && p.type === "error") errors.push(`console.error: ${JSON.stringify(p.args)}`);
        if (m.method === "Log.entryAdded" && (p.entry as { level: string }).level === "error") errors.push(`log: ${(p.entry as { text: string; url?: string }).text} ${(p.entry as { url?: string }).url ?? ""}`);
        if (m.method === "Network.loadingFinished") bytes += Number(p.encodedDataLength ?? 0);
        if (m.method === "Page.loadEventFired") loaded?.();
      },
    ]);
    const s = (method: string, params: Record<string, unknown> = {}) => send(method, params, sessionId);
    await Promise.all([s("Page.enable"), s("Runtime.enable"), s("Network.enable"), s("Log.enable")]);
    await s("Emulation.setDeviceMetricsOverride", { width: size.width, height: size.height, deviceScaleFactor: 1, mobile: Boolean(size.mobile) });
    const page: Page = {
      errors,
      bytesLoaded: () => bytes,
      async goto(url) {
        const done = new Promise<void>((r) => (loaded = r));
        const nav = (await s("Page.navigate", { url })) as { errorText?: string };
        if (nav.errorText) throw new Error(`navigate to ${url}: ${nav.errorText}`);
        await Promise.race([done, sleep(30_000).then(() => Promise.reject(new Error(`${url} did not load within 30 s`)))]);
      },
      async eval<T>(expression: string) {
        const r = (await s("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as { result: { value?: T }; exceptionDetails?: { exception?: { description?: string }; text: string } };
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text} (evaluating ${expression.slice(0, 200)})`);
        return r.result.value as T;
      },
      async waitFor<T>(expression: string, what: string, timeoutMs = 30_000) {
        const t0 = Date.now();
        for (;;) {
          const v = await page.eval<T>(expression).catch(() => undefined);
          if (v) return v;
          if (Date.now() - t0 > timeoutMs) {
            const line = await page.eval<string>("document.getElementById('status')?.textContent ?? ''").catch(() => "");
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (status line: "${line}")`);
          }
          await sleep(250);
        }
      },
      async screenshot(file) {
        const { data } = (await s("Page.captureScreenshot", { format: "png" })) as { data: string };
        writeFileSync(file, Buffer.from(data, "base64"));
      },
      async close() {
        await send("Target.closeTarget", { targetId }).catch(() => {});
        await send("Target.disposeBrowserContext", { browserContextId }).catch(() => {});
      },
    };
    return page;
  }

  return {
    newPage,
    async close() {
      ws.close();
      proc.kill("SIGKILL");
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
