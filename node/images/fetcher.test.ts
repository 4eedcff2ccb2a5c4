import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../protocol/testing/manual-clock.ts";
import { openCrdtStore, type CrdtStore } from "../store/crdt-store.ts";
import { MemoryKv } from "../store/memory-kv.ts";
import { BlobStore } from "./blob-store.ts";
import { MemoryBlobNet } from "./blob-stream.ts";
import { ImageFetcher, ImageUnavailableError } from "./fetcher.ts";
import { addHolder, holders, IMAGE } from "./records.ts";

async function* chunks(buf: Buffer, size = 100_000): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe("image fetcher", () => {
  let dir: string;
  let store: CrdtStore;
  const logs: string[] = [];
  const log = { info: (_o: object, m: string) => void logs.push(m), warn: (_o: object, m: string) => void logs.push(`warn: ${m}`) };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "psimg-"));
    store = await openCrdtStore({ node: "a" }, { clock: new ManualClock(1), kv: new MemoryKv() });
    logs.length = 0;
  });
  afterEach(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    const net = new MemoryBlobNet();
    const clock = new ManualClock(1000);
    const a = new BlobStore(join(dir, "a"));
    const b = new BlobStore(join(dir, "b"));
    const fa = new ImageFetcher({ progressEvery: 300_000 }, { store, blobs: a, net: net.node("A"), clock, log });
    const fb = new ImageFetcher({ progressEvery: 300_000 }, { store, blobs: b, net: net.node("B"), clock, log });
    fa.start();
    fb.start();
    const data = randomBytes(1_000_000);
    const d = await a.ingest(chunks(data));
    await store.put(IMAGE, "img1", { status: "active", sha256: d.sha256, size: d.size });
    await addHolder(store, "img1", "A");
    return { net, a, b, fa, fb, data, d };
  }

  it("ingests with sha256, md5 and sha512 and stores under the digest", async () => {
    const { a, data, d } = await setup();
    expect(d.sha256).toBe(createHash("sha256").update(data).digest("hex"));
    expect(d.md5).toBe(createHash("md5").update(data).digest("hex"));
    expect(d.sha512).toBe(createHash("sha512").update(data).digest("hex"));
    expect(d.size).toBe(1_000_000);
    expect(Buffer.compare(await readFile(a.path(d.sha256)), data)).toBe(0);
  });

  it("fetches from a holder, verifies, and records itself as holder", async () => {
    const { b, fb, data } = await setup();
    const p = await fb.localPath("img1");
    expect(p).toBe(b.path(createHash("sha256").update(data).digest("hex")));
    expect(Buffer.compare(await readFile(p), data)).toBe(0);
    expect(holders(store, "img1")).toEqual(["A", "B"]);
    expect(logs).toContain("image fetch progress");
  });

  it("resumes an interrupted transfer from the partial file", async () => {
    const { net, b, fb, data, d } = await setup();
    net.cutAfter = 450_000;
    const p = await fb.localPath("img1");
    expect(logs).toContain("resuming image fetch");
    expect(Buffer.compare(await readFile(p), data)).toBe(0);
    expect(await b.partialSize(d.sha256)).toBe(0);
  });

  it("resumes from a partial file left by an earlier run", async () => {
    const { b, fb, data, d } = await setup();
    await b.appendPartial(d.sha256, 0, chunks(data.subarray(0, 123_457)));
    await fb.localPath("img1");
    expect(logs).toContain("resuming image fetch");
    expect(Buffer.compare(await readFile(b.path(d.sha256)), data)).toBe(0);
  });

  it("discards a corrupt resume (checksum mismatch) and refetches from scratch", async () => {
    const { b, fb, data, d } = await setup();
    const bad = Buffer.from(data.subarray(0, 200_000));
    bad[10] ^= 1;
    await b.appendPartial(d.sha256, 0, chunks(bad));
    const p = await fb.localPath("img1");
    expect(logs.some((l) => l.startsWith("warn: image fetch failed"))).toBe(true);
    expect(Buffer.compare(await readFile(p), data)).toBe(0);
  });

  it("a partial longer than the blob is discarded and the fetch restarts", async () => {
    const { b, fb, data, d } = await setup();
    await b.appendPartial(d.sha256, 0, chunks(Buffer.concat([data, Buffer.alloc(10)])));
    expect(Buffer.compare(await readFile(await fb.localPath("img1")), data)).toBe(0);
  });

  it("corrupted bytes on the wire are never made usable", async () => {
    const { net, b, d } = await setup();
    const fb = new ImageFetcher({ attempts: 1 }, { store, blobs: b, net: net.node("B"), clock: new ManualClock(0), log });
    net.corruptAt = 5000;
    await expect(fb.localPath("img1")).rejects.toBeInstanceOf(ImageUnavailableError);
    expect(await b.has(d.sha256)).toBe(false);
    expect(await b.partialSize(d.sha256)).toBe(0);
  });

  it("fails clearly when no node holds the data", async () => {
    const { b, net } = await setup();
    await store.put(IMAGE, "img2", { status: "queued" });
    const fb = new ImageFetcher({}, { store, blobs: b, net: net.node("B"), clock: new ManualClock(0), log });
    await expect(fb.localPath("img2")).rejects.toThrow(/no data/);
    await expect(fb.localPath("nope")).rejects.toThrow(/no such image/);
  });

  it("kernel(): direct kernel boot from kernel_id / ramdisk_id / os_command_line, fetched like images", async () => {
    const { a, fb, d } = await setup();
    const k = await a.ingest(chunks(Buffer.from("kernel-bits")));
    await store.put(IMAGE, "kern", { status: "active", sha256: k.sha256, size: k.size });
    await addHolder(store, "kern", "A");
    await store.put(IMAGE, "img1", { properties: { kernel_id: "kern", os_command_line: "console=ttyS0" } });
    const boot = await fb.kernel("img1");
    expect(boot).toMatchObject({ cmdline: "console=ttyS0" });
    expect((await readFile(boot!.path)).toString()).toBe("kernel-bits");
    expect(boot!.initrd).toBeUndefined();
    await store.put(IMAGE, "img1", { properties: {} });
    expect(await fb.kernel("img1")).toBeUndefined();
    expect(d.size).toBe(1_000_000);
  });

  it("collectOrphans removes blobs and holder records of images deleted elsewhere", async () => {
    const { a, fa, d } = await setup();
    expect(await fa.collectOrphans()).toEqual([]);
    expect(await a.has(d.sha256)).toBe(true);
    await store.remove(IMAGE, "img1");
    expect(await fa.collectOrphans()).toEqual([d.sha256]);
    expect(await a.has(d.sha256)).toBe(false);
    expect(holders(store, "img1")).toEqual([]);
  });
});
