// Runs the real `openstack` CLI against a peerstack API with an explicit OS_* environment (the
// values an openrc carries), so CLI tests share one runner instead of each writing its own.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CliTarget {
  /** Base URL of the API listener (identity lives under /identity). */
  url: string;
  /** HOME and working directory for the CLI (its caches land there). */
  dir: string;
  user?: string;
  password: string;
  project?: string;
  timeoutMs?: number;
}

export interface CliResult {
  stdout: string;
  json: () => any;
}

/** `openstack <args>`; a failure throws with the CLI's own stderr in the message. */
export async function openstack(target: CliTarget, args: string[]): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: target.dir,
    OS_AUTH_URL: `${target.url}/identity`,
    OS_USERNAME: target.user ?? "admin",
    OS_PASSWORD: target.password,
    OS_PROJECT_NAME: target.project ?? "admin",
    OS_USER_DOMAIN_NAME: "Default",
    OS_PROJECT_DOMAIN_NAME: "Default",
    OS_IDENTITY_API_VERSION: "3",
    OS_REGION_NAME: "RegionOne",
  };
  try {
    const { stdout } = await run("openstack", args, { env, cwd: target.dir, timeout: target.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { stdout, json: () => JSON.parse(stdout) };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`openstack ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}
