import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { CommandRunner } from "./interface.ts";
import { fileStorage } from "./file.ts";
import { storageContract } from "./storage.contract.ts";

const pexec = promisify(execFile);
const host: CommandRunner = {
  run: async (cmd, args, opts) => pexec(cmd, args, { timeout: opts?.timeoutMs, env: { ...process.env, LC_ALL: "C" } }),
};

storageContract("file (qcow2 on the host)", async () => {
  const workDir = await mkdtemp(join(tmpdir(), "pslvm-file-"));
  return {
    driver: fileStorage({ root: join(workDir, "pool"), runner: host }),
    runner: host,
    hostRunner: host,
    workDir,
    teardown: () => rm(workDir, { recursive: true, force: true }),
  };
});
