// Picks the compute driver from the host's configuration (one today: qemu).
import type { ComputeDriver } from "./interface.ts";
import type { Runner } from "../run.ts";
import { qemuDriver, type Logger } from "./qemu.ts";

export type ComputeConfig = { driver: "qemu"; stateDir: string; qemu?: string };

/** The agent's default: instance directories under `<dataDir>/instances` (keep dataDir short: QMP socket paths must fit 107 bytes). */
export function computeConfigFor(opts: { dataDir: string }): ComputeConfig {
  return { driver: "qemu", stateDir: `${opts.dataDir}/instances` };
}

export function createComputeDriver(config: ComputeConfig, deps: { runner?: Runner; logger?: Logger } = {}): ComputeDriver {
  return qemuDriver({ stateDir: config.stateDir, qemu: config.qemu, runner: deps.runner, logger: deps.logger });
}
