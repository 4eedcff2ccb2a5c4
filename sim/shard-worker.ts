// Worker thread entry: runs one shard of a run (sim/run.ts) and posts its progress lines and result.
import { parentPort, workerData } from "node:worker_threads";
import { runShard } from "./shard.ts";
import type { Scenario } from "./scenario.ts";

const { scenario, shard, shards, samples } = workerData as { scenario: Scenario; shard: number; shards: number; samples?: number };
const result = await runShard(scenario, shard, shards, { samples, onProgress: (line) => parentPort?.postMessage({ progress: line }), onTick: (tick) => parentPort?.postMessage({ tick }) });
parentPort?.postMessage({ result });
