// Crash durability of the CRDT store on real LevelDB: a child process writes with group commit and is
// killed with SIGKILL mid-run; every write it acknowledged must be there after reopening, and no batch
// may be torn (each delta-log entry has its record state and each record is the join of its entries).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { merge, sameState, emptyRecord, type RecordState } from "../protocol/crdt/lww-map.ts";
import { SeededRandom } from "../protocol/random.ts";
import { ManualClock } from "../protocol/testing/manual-clock.ts";
import { openCrdtStore } from "../node/store/crdt-store.ts";
import { LevelKv } from "../node/store/level-kv.ts";
import { SEQ_KEY, unpack } from "../node/store/layout.ts";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "store-writer.ts");
const WRITERS = 16;
const dir = mkdtempSync(join(tmpdir(), "psstore-durability-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until `acks` writes are acknowledged, then SIGKILLs it; returns every acknowledged line. */
function runAndKill(tag: string, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", fixture, dir, tag, String(WRITERS)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let killed = false;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (!killed && out.split("\n").length > acks + 1) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`writer exited ${code} before the kill: ${err}`));
      const lines = out.split("\n");
      lines.pop(); // a line cut by the kill is not an acknowledgement
      resolve(lines.filter((l) => !l.startsWith("ready")));
    });
  });
}

describe("CRDT store durability across kill -9", () => {
  const acked = new Map<string, { n?: number; deleted: boolean }>();
  const lastOp = new Map<string, number>(); // per "<tag>-<writer>": highest acknowledged op index
  const rnd = new SeededRandom(20261123);

  it("keeps every acknowledged write and never tears a batch, over repeated crashes", async () => {
    for (let run = 0; run < 4; run++) {
      const tag = `run${run}`;
      const lines = await runAndKill(tag, 200 + rnd.int(800));
      expect(lines.length).toBeGreaterThan(100);
      for (const line of lines) {
        const [op, id, n] = line.split(" ");
        if (op === "put") acked.set(id, { n: Number(n), deleted: false });
        else acked.set(id, { ...acked.get(id), deleted: true });
        const [t, k, i] = id.split("-");
        const opIndex = op === "del" ? Number(i) + 3 : Number(i);
        const wkey = `${t}-${k}`;
        lastOp.set(wkey, Math.max(lastOp.get(wkey) ?? -1, opIndex));
      }

      const kv = await LevelKv.open(dir);
      const store = await openCrdtStore({ node: "checker" }, { clock: new ManualClock(), kv });
      try {
        for (const [id, a] of acked) {
          const state = store.stateOf("vm", id);
          expect(state, `acknowledged ${id}`).toBeDefined();
          if (a.deleted) {
            expect(store.get("vm", id), `acknowledged delete of ${id}`).toBeUndefined();
            continue;
          }
          const rec = store.get("vm", id);
          if (rec) {
            expect(rec.n).toBe(a.n);
          } else {
            // Dead only if its remove came after the last op we saw acknowledged. Not "exactly the next
            // op": when the pipe to this process is full, the child's stdout queues ack lines in its own
            // memory and SIGKILL drops them, so the writer may be several durable ops past the last line seen.
            const [t, k, i] = id.split("-");
            expect(Number(i) + 3, `${id} is deleted but its remove was never issued`).toBeGreaterThan(lastOp.get(`${t}-${k}`) ?? -1);
          }
        }

        // No torn batch: the log is contiguous up to m/seq, each entry has its record, each record is its entries' join.
        const log = await store.logSince(0);
        const seq = unpack<number>((await kv.get(SEQ_KEY))!);
        expect(log.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
        const joined = new Map<string, RecordState>();
        for (const e of log) {
          const state = store.stateOf("vm", e.delta.id);
          expect(state, `log entry ${e.seq} has its record`).toBeDefined();
          expect(sameState(merge(state!, e.delta), state!)).toBe(true);
          joined.set(e.delta.id, merge(joined.get(e.delta.id) ?? emptyRecord("vm", e.delta.id), e.delta));
        }
        let records = 0;
        for (let b = 0; b < store.digest().buckets; b++) {
          for (const state of store.statesIn("vm", b)) {
            records++;
            expect(joined.has(state.id), `record ${state.id} has log entries`).toBe(true);
            expect(sameState(joined.get(state.id)!, state)).toBe(true);
          }
        }
        expect(records).toBe(joined.size);
        expect(records).toBeGreaterThanOrEqual(acked.size);
      } finally {
        await store.stop();
        await kv.close();
      }
    }
  }, 120_000);
});
