// CRDT store benchmark: in-memory delta merges, durable acknowledged writes with group commit under
// 64 concurrent writers (real LevelDB, fsync), and remote delta applies. Prints median and p99.
// Usage: node bench/crdt.bench.ts [seconds per durable round, default 3]
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { emptyRecord, mergeInto, setFields, type RecordDelta, type RecordState } from "../protocol/crdt/lww-map.ts";
import { SeededRandom } from "../protocol/random.ts";
import { openCrdtStore, type CrdtStore } from "../node/store/crdt-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { systemClock } from "../node/runtime/system.ts";

const seconds = Number(process.argv[2] ?? 3);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`);

function deltasFor(count: number, records: number, rnd: SeededRandom): RecordDelta[] {
  const out: RecordDelta[] = [];
  for (let i = 0; i < count; i++) {
    const id = `r${rnd.int(records)}`;
    const t = { wallMs: 1_700_000_000_000 + rnd.int(1_000_000), counter: rnd.int(4), node: `n${rnd.int(5)}` };
    const fields: Record<string, unknown> = { [`f${rnd.int(8)}`]: rnd.int(1000) };
    if (rnd.int(2) === 0) fields.status = rnd.int(2) === 0 ? "ACTIVE" : "SHUTOFF";
    out.push(setFields(undefined, "server", id, fields, t).delta);
  }
  return out;
}

function benchMerges(): void {
  const rnd = new SeededRandom(1);
  const deltas = deltasFor(200_000, 10_000, rnd);
  const rates: number[] = [];
  for (let round = 0; round < 9; round++) {
    const states = new Map<string, RecordState>();
    const t0 = now();
    for (const d of deltas) {
      let s = states.get(d.id);
      if (!s) states.set(d.id, (s = emptyRecord(d.kind, d.id)));
      mergeInto(s, d);
    }
    rates.push(deltas.length / ((now() - t0) / 1000));
  }
  console.log(`delta merges in memory: median ${fmt(pct(rates, 50))}/s (9 rounds of ${fmt(deltas.length)} deltas over 10,000 records; goal >= 100,000/s)`);
}

async function withStore<T>(fn: (store: CrdtStore) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "psstore-bench-"));
  const kv = await LevelKv.open(dir);
  const store = await openCrdtStore({ node: "bench" }, { clock: systemClock, kv });
  try {
    return await fn(store);
  } finally {
    await store.stop();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchDurableWrites(): Promise<void> {
  const rates: number[] = [];
  const latencies: number[] = [];
  let batches = 0;
  let writes = 0;
  for (let round = 0; round < 3; round++) {
    await withStore(async (store) => {
      const end = now() + seconds * 1000;
      let count = 0;
      const t0 = now();
      await Promise.all(
        Array.from({ length: 64 }, async (_, w) => {
          for (let i = 0; now() < end; i++) {
            const s = now();
            await store.put("server", `w${w}-${i % 500}`, { name: `vm-${w}-${i}`, status: "ACTIVE", vcpus: 2, ramMb: 2048 });
            latencies.push(now() - s);
            count++;
          }
        }),
      );
      rates.push(count / ((now() - t0) / 1000));
      batches += store.stats().batches;
      writes += count;
    });
  }
  console.log(
    `durable acknowledged writes, 64 concurrent writers, group commit (LevelDB sync): median ${fmt(pct(rates, 50))}/s over 3 rounds of ${seconds}s; ` +
      `write latency median ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms; ${(writes / batches).toFixed(1)} writes per synced batch (goal >= 5,000/s)`,
  );
}

async function benchRemoteApplies(perCall: number, concurrency: number): Promise<void> {
  const rates: number[] = [];
  const latencies: number[] = [];
  for (let round = 0; round < 3; round++) {
    const deltas = deltasFor(Math.max(20_000, perCall * concurrency * 20), 10_000, new SeededRandom(round + 7));
    await withStore(async (store) => {
      let next = 0;
      let changed = 0;
      const t0 = now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < deltas.length) {
            const chunk = deltas.slice(next, next + perCall);
            next += perCall;
            const s = now();
            changed += await store.applyRemote(chunk);
            latencies.push(now() - s);
          }
        }),
      );
      rates.push(deltas.length / ((now() - t0) / 1000));
      if (changed === 0) throw new Error("remote applies changed nothing");
    });
  }
  console.log(
    `remote delta applies (LevelDB sync), ${perCall} per call x ${concurrency} concurrent: median ${fmt(pct(rates, 50))}/s over 3 rounds; ` +
      `call latency median ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`,
  );
}

benchMerges();
await benchDurableWrites();
await benchRemoteApplies(1, 64);
await benchRemoteApplies(100, 4);
