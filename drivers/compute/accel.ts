// Which accelerator QEMU can really use here. /dev/kvm existing is not enough: on PVM hosts
// (/sys/module/kvm_pvm) it cannot run a stock kernel, so we use TCG there; elsewhere a short
// probe (QEMU with -accel kvm -cpu host, asked `query-kvm` over QMP on stdio) decides.
import { access, constants } from "node:fs/promises";
import { localRunner, type Runner } from "../run.ts";

export interface AccelChoice {
  accel: "kvm" | "tcg";
  /** Why (shown in the TCG warning). */
  reason: string;
}

/** How many VMs were started under TCG because KVM was not usable (exported as a metric). */
export const accelCounters = { tcgFallbacks: 0 };

export interface AccelProbeEnv {
  kvmDevice?: string;
  pvmModule?: string;
  runner?: Runner;
  qemu?: string;
}

export async function detectAccel(env: AccelProbeEnv = {}): Promise<AccelChoice> {
  const kvm = env.kvmDevice ?? "/dev/kvm";
  const pvm = env.pvmModule ?? "/sys/module/kvm_pvm";
  if (await access(pvm).then(() => true, () => false)) return { accel: "tcg", reason: `${kvm} is PVM (${pvm} exists), which cannot run a stock guest kernel` };
  if (!(await access(kvm, constants.R_OK | constants.W_OK).then(() => true, () => false))) return { accel: "tcg", reason: `${kvm} is not usable` };
  const runner = env.runner ?? localRunner;
  const input = ['{"execute":"qmp_capabilities"}', '{"execute":"query-kvm"}', '{"execute":"quit"}', ""].join("\n");
  try {
    const { stdout } = await runner.run(
      env.qemu ?? "qemu-system-x86_64",
      ["-accel", "kvm", "-cpu", "host", "-machine", "pc", "-nodefaults", "-no-user-config", "-display", "none", "-S", "-qmp", "stdio"],
      { input, timeoutMs: 15_000 },
    );
    if (/"enabled":\s*true/.test(stdout) && /"present":\s*true/.test(stdout)) return { accel: "kvm", reason: "KVM probe succeeded" };
    return { accel: "tcg", reason: "the KVM probe reported KVM not enabled" };
  } catch (e) {
    return { accel: "tcg", reason: `the KVM probe failed: ${(e as Error).message.slice(0, 200)}` };
  }
}

let cached: Promise<AccelChoice> | undefined;

/** detectAccel() once per process. */
export function hostAccel(): Promise<AccelChoice> {
  cached ??= detectAccel();
  return cached;
}
