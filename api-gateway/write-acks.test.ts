import { afterEach, describe, expect, it } from "vitest";
import type { RecordDelta } from "../node/store/crdt-store.ts";
import { testGateway, type TestGateway } from "./testing/fixture.ts";
import { REPLICATION_HEADER, type AckOutcome } from "./write-acks.ts";

describe("acknowledged writes", () => {
  let g: TestGateway | undefined;
  afterEach(async () => g?.close());

  async function gateway(outcome: () => AckOutcome) {
    const seen: RecordDelta[] = [];
    const replicate = async (deltas: RecordDelta[]) => {
      seen.push(...deltas);
      await new Promise((r) => setImmediate(r)); // an ack arrives later, on another tick
      return outcome();
    };
    g = await testGateway({ extra: { replicate } });
    return { seen, token: await g.token() };
  }

  it("every write of a request is replicated before the answer; the header gives the least-acknowledged write", async () => {
    let n = 0;
    const { seen, token } = await gateway(() => ({ wanted: 2, acked: n++ === 0 ? 2 : 1, alone: false }));
    const res = await g!.app.inject({ method: "POST", url: "/identity/v3/projects", headers: { "x-auth-token": token }, payload: { project: { name: "p" } } });
    expect(res.statusCode).toBe(201);
    expect(seen.map((d) => d.kind)).toEqual(["project"]);
    expect(res.headers[REPLICATION_HEADER.toLowerCase()]).toBe("2/2");
    const p = res.json().project.id;
    const del = await g!.app.inject({ method: "DELETE", url: `/identity/v3/projects/${p}`, headers: { "x-auth-token": token } });
    expect(del.headers[REPLICATION_HEADER.toLowerCase()]).toBe("1/2 best-effort");
    // Reads carry no header, and concurrent requests do not see each other's writes.
    const [read, write] = await Promise.all([
      g!.app.inject({ url: "/compute/v2.1/flavors", headers: { "x-auth-token": token } }),
      g!.app.inject({ method: "POST", url: "/compute/v2.1/os-keypairs", headers: { "x-auth-token": token }, payload: { keypair: { name: "k", public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHjIJz6QeYBzKXm+9bvTE2jB9XG7HQNOXWH1Ywno4r4D" } } }),
    ]);
    expect(read.headers[REPLICATION_HEADER.toLowerCase()]).toBeUndefined();
    expect(write.headers[REPLICATION_HEADER.toLowerCase()]).toBe("1/2 best-effort");
  });

  // Issue #13 item 10: the promise is best effort, and the answer says so. Peers are connected but none
  // holds the write: the write is committed here (gossip delivers it later), answered 2xx, never 503 (a
  // client retrying a committed create would make a second one), and the header says "best-effort".
  it("peers connected but none acknowledges: committed here, 2xx, the header says best-effort", async () => {
    const { token } = await gateway(() => ({ wanted: 1, acked: 0, alone: false }));
    const res = await g!.app.inject({ method: "POST", url: "/compute/v2.1/flavors", headers: { "x-auth-token": token }, payload: { flavor: { name: "short", ram: 64, vcpus: 1, disk: 0 } } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["retry-after"]).toBeUndefined();
    expect(res.headers[REPLICATION_HEADER.toLowerCase()]).toBe("0/1 best-effort");
    expect(g!.store.list("flavor", (f) => f.name === "short")).toHaveLength(1);
  });

  it("a node alone still accepts the write and says so", async () => {
    const { token } = await gateway(() => ({ wanted: 1, acked: 0, alone: true }));
    const res = await g!.app.inject({ method: "POST", url: "/compute/v2.1/flavors", headers: { "x-auth-token": token }, payload: { flavor: { name: "f", ram: 64, vcpus: 1, disk: 0 } } });
    expect(res.statusCode).toBe(200);
    expect(res.headers[REPLICATION_HEADER.toLowerCase()]).toBe("alone");
    expect(g!.store.list("flavor", (f) => f.name === "f")).toHaveLength(1);
  });
});
