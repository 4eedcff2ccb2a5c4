// A cross-process lock for cache builds: an exclusively created file holding the builder's pid.
// A lock whose pid is gone is stale and taken over. Concurrent test workers building the same
// image wait for the first one and then find its result in the cache.
import { open, readFile, rm } from "node:fs/promises";
import { PeerstackError } from "../../protocol/errors.ts";

export class BuildLockTimeoutError extends PeerstackError {
  constructor(path: string, timeoutMs: number) {
    super("BUILD_LOCK_TIMEOUT", `waiting for build lock ${path}: still held after ${timeoutMs} ms`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function withBuildLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const f = await open(path, "wx");
      await f.writeFile(String(process.pid));
      await f.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (pid > 0 && !alive(pid)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new BuildLockTimeoutError(path, timeoutMs);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
