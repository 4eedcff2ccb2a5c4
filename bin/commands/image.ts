// `peerstack image build-test [--out DIR] [--force]`: builds the bootable test image
// (.peerstack/images/peerstack-test.qcow2 by default; cached, rebuilt when its inputs change).
import { resolve } from "node:path";
import { buildTestImage } from "../../drivers/guest/test-image.ts";

const USAGE = "usage: peerstack image build-test [--out DIR] [--force]\n";

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "build-test") {
    process.stderr.write(USAGE);
    return 2;
  }
  let outDir: string | undefined;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--out" && rest[i + 1]) outDir = resolve(rest[++i]);
    else if (rest[i] === "--force") force = true;
    else {
      process.stderr.write(USAGE);
      return 2;
    }
  }
  const t0 = process.hrtime.bigint();
  const image = await buildTestImage({ outDir, force, log: (m) => process.stderr.write(`${m}\n`) });
  process.stderr.write(`test image ${image.key} (kernel ${image.kver}) in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
  process.stdout.write(`${image.qcow2}\n`);
  return 0;
}
