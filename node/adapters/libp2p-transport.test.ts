// Request streams over two real in-process libp2p hosts (TCP + noise + yamux + pnet): reuse,
// concurrency, errors never reused, an old peer that closes after one answer, disconnects.
import { generateKeyPair } from "@libp2p/crypto/keys";
import { generateKey } from "@libp2p/pnet";
import { lpStream } from "@libp2p/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeerUnreachableError } from "../mesh/transport.ts";
import { createHost, type PeerstackLibp2p } from "./libp2p-host.ts";
import { Libp2pTransport } from "./libp2p-transport.ts";
import type { StreamPool } from "./stream-pool.ts";

const ECHO = "/peerstack/test-echo/1";
const OLD = "/peerstack/test-old/1";
const OLD_LATE = "/peerstack/test-old-late/1";
const FAIL = "/peerstack/test-fail/1";
const SLOW = "/peerstack/test-slow/1";
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("Libp2pTransport request streams", () => {
  let a: PeerstackLibp2p;
  let b: PeerstackLibp2p;
  let ta: Libp2pTransport;
  let tb: Libp2pTransport;
  let peerB: string;
  let handled = 0;
  let oldLateRuns = 0;

  const pool = () => (ta as unknown as { pool: StreamPool }).pool;
  const outbound = (protocol: string) =>
    a.getConnections(b.peerId).flatMap((c) => c.streams).filter((s) => s.protocol === protocol && s.direction === "outbound" && s.status === "open").length;

  beforeAll(async () => {
    const psk = new Uint8Array(95);
    generateKey(psk);
    a = await createHost({ privateKey: await generateKeyPair("Ed25519"), clusterKey: psk, listen: ["/ip4/127.0.0.1/tcp/0"] });
    b = await createHost({ privateKey: await generateKeyPair("Ed25519"), clusterKey: psk, listen: ["/ip4/127.0.0.1/tcp/0"] });
    ta = new Libp2pTransport(a);
    tb = new Libp2pTransport(b);
    peerB = tb.self;
    tb.handle(ECHO, async (from, data) => {
      handled++;
      await new Promise((r) => setTimeout(r, 2));
      return enc(`${from === ta.self ? "a" : "?"}:${dec(data)}`);
    });
    tb.handle(FAIL, async () => {
      throw new Error("handler failed");
    });
    tb.handle(SLOW, async (_from, data) => {
      await new Promise((r) => setTimeout(r, 300));
      return data;
    });
    // The previous server: one request, one answer, close.
    await b.handle(OLD, async (stream) => {
      const lp = lpStream(stream);
      const req = (await lp.read()).subarray();
      await lp.write(enc(`old:${dec(req)}`));
      await stream.close();
    });
    // Same, but its close arrives only after the client has written the next request on the stream.
    await b.handle(OLD_LATE, async (stream) => {
      const lp = lpStream(stream);
      const req = (await lp.read()).subarray();
      oldLateRuns++;
      await lp.write(enc(`old:${dec(req)}`));
      await new Promise((r) => setTimeout(r, 30));
      await stream.close();
    });
    await ta.dial(b.getMultiaddrs()[0].toString());
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("sequential requests reuse one stream", async () => {
    const before = ta.counters.requestsOut;
    for (let i = 0; i < 20; i++) expect(dec(await ta.request(peerB, ECHO, enc(`m${i}`)))).toBe(`a:m${i}`);
    expect(ta.counters.requestsOut - before).toBe(20);
    expect(tb.counters.requestsIn).toBeGreaterThanOrEqual(20);
    expect(outbound(ECHO)).toBe(1);
    expect(pool().size(peerB, ECHO)).toBe(1);
  });

  it("concurrent requests use separate streams; the idle pool is capped at 8", async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => ta.request(peerB, ECHO, enc(`c${i}`))));
    answers.forEach((ans, i) => expect(dec(ans)).toBe(`a:c${i}`));
    expect(pool().size(peerB, ECHO)).toBe(8);
    // Every request ran exactly once.
    expect(handled).toBe(50);
  });

  it("a failed request aborts its stream, which is never reused", async () => {
    await expect(ta.request(peerB, FAIL, enc("x"))).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(pool().size(peerB, FAIL)).toBe(0);
    await expect(ta.request(peerB, SLOW, enc("slow"), { timeoutMs: 50 })).rejects.toThrow(/no answer in time/);
    expect(pool().size(peerB, SLOW)).toBe(0);
    expect(dec(await ta.request(peerB, SLOW, enc("slow2")))).toBe("slow2");
    expect(pool().size(peerB, SLOW)).toBe(1);
  });

  it("an old peer that closes after one answer still works", async () => {
    for (let i = 0; i < 10; i++) expect(dec(await ta.request(peerB, OLD, enc(`o${i}`)))).toBe(`old:o${i}`);
    // Back to back, without a tick for the close to arrive before the next request.
    const seq: string[] = [];
    for (let i = 0; i < 5; i++) seq.push(dec(await ta.request(peerB, OLD, enc(`p${i}`))));
    expect(seq).toEqual(["old:p0", "old:p1", "old:p2", "old:p3", "old:p4"]);
  });

  it("a request on a pooled stream an old peer closes unanswered goes out once on a fresh stream", async () => {
    const seq: string[] = [];
    for (let i = 0; i < 5; i++) seq.push(dec(await ta.request(peerB, OLD_LATE, enc(`q${i}`))));
    expect(seq).toEqual(["old:q0", "old:q1", "old:q2", "old:q3", "old:q4"]);
    expect(oldLateRuns).toBe(5);
  });

  it("a closed connection drops the peer's pools; requests redial", async () => {
    expect(pool().size(peerB)).toBeGreaterThan(0);
    await a.hangUp(b.peerId);
    await new Promise((r) => setTimeout(r, 50));
    expect(pool().size(peerB)).toBe(0);
    await ta.dial(b.getMultiaddrs()[0].toString());
    expect(dec(await ta.request(peerB, ECHO, enc("again")))).toBe("a:again");
  });
});
