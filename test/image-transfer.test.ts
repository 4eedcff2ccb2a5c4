// Two in-process libp2p hosts (the mesh's host: TCP + noise + yamux + pnet): an image uploaded on
// node A is fetched by node B over the blob stream, checksums equal; a transfer cut by hanging up
// the connection resumes from the partial file.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { generateKey } from "@libp2p/pnet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, type PeerstackLibp2p } from "../node/adapters/libp2p-host.ts";
import { Libp2pBlobStream } from "../node/adapters/libp2p-blob-stream.ts";
import { BlobStore } from "../node/images/blob-store.ts";
import { ImageFetcher } from "../node/images/fetcher.ts";
import { addHolder, holders, IMAGE } from "../node/images/records.ts";
import { systemClock } from "../node/runtime/system.ts";
import { openCrdtStore, type CrdtStore } from "../node/store/crdt-store.ts";
import { MemoryKv } from "../node/store/memory-kv.ts";

describe("image transfer over libp2p", () => {
  let dir: string;
  let a: PeerstackLibp2p;
  let b: PeerstackLibp2p;
  let store: CrdtStore;
  const events: { msg: string; obj: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "psimg-xfer-"));
    const psk = new Uint8Array(95);
    generateKey(psk);
    a = await createHost({ privateKey: await generateKeyPair("Ed25519"), clusterKey: psk, listen: ["/ip4/127.0.0.1/tcp/0"] });
    b = await createHost({ privateKey: await generateKeyPair("Ed25519"), clusterKey: psk, listen: ["/ip4/127.0.0.1/tcp/0"] });
    await b.dial(a.getMultiaddrs()[0]);
    // One store stands for the replicated catalog both nodes see (replication is the store's own tests).
    store = await openCrdtStore({ node: "x" }, { clock: systemClock, kv: new MemoryKv() });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await store?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function fetcherFor(host: PeerstackLibp2p, name: string, onProgress?: () => void, serve = true) {
    const log = {
      info: (obj: object, msg: string) => {
        events.push({ msg: `${name}: ${msg}`, obj: obj as Record<string, unknown> });
        if (msg === "image fetch progress") onProgress?.();
      },
      warn: (obj: object, msg: string) => void events.push({ msg: `${name}: ${msg}`, obj: obj as Record<string, unknown> }),
    };
    const blobs = new BlobStore(join(dir, name));
    const f = new ImageFetcher({ progressEvery: 2 * 1024 * 1024 }, { store, blobs, net: new Libp2pBlobStream(host), clock: systemClock, log });
    if (serve) f.start();
    return { f, blobs };
  }

  it("B fetches A's image (checksums equal), and resumes after the connection is cut mid-transfer", async () => {
    const A = fetcherFor(a, "A");
    let cut = false;
    const B = fetcherFor(b, "B", () => {
      if (cut) return;
      cut = true;
      void b.hangUp(a.peerId);
    });
    const data = randomBytes(12 * 1024 * 1024);
    const d = await A.blobs.ingest((async function* () { for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20)); })());
    await store.put(IMAGE, "img-x", { status: "active", sha256: d.sha256, size: d.size, checksum: d.md5 });
    await addHolder(store, "img-x", a.peerId.toString());

    const t0 = performance.now();
    const path = await B.f.localPath("img-x");
    const ms = performance.now() - t0;
    const got = await readFile(path);
    expect(createHash("sha256").update(got).digest("hex")).toBe(d.sha256);
    expect(createHash("md5").update(got).digest("hex")).toBe(d.md5);
    expect(cut).toBe(true);
    const failed = events.find((e) => e.msg === "B: image fetch failed");
    expect(failed).toBeDefined();
    const resumed = events.find((e) => e.msg === "B: resuming image fetch");
    expect(resumed?.obj.offset).toBeGreaterThan(0);
    expect(holders(store, "img-x")).toEqual([a.peerId.toString(), b.peerId.toString()].sort());
    console.log(`12 MiB over libp2p with one cut + resume: ${ms.toFixed(0)} ms (resumed at ${String(resumed?.obj.offset)})`);

    // A second fetch is local: no transfer.
    const before = events.length;
    expect(await B.f.localPath("img-x")).toBe(path);
    expect(events.slice(before).some((e) => e.msg.includes("fetching image"))).toBe(false);
  }, 60_000);

  it("a peer that does not hold the blob answers 'not held'", async () => {
    const C = fetcherFor(b, "C", undefined, false);
    await store.put(IMAGE, "img-y", { status: "active", sha256: "0".repeat(64), size: 1 });
    await addHolder(store, "img-y", a.peerId.toString());
    await expect(C.f.localPath("img-y")).rejects.toThrow(/no holder delivered/);
  });
});
