import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { xsalsa20Fixed } from "./xsalsa20-fix.ts";

const req = createRequire(createRequire(import.meta.url).resolve("@libp2p/pnet"));
const XSalsa20 = req("xsalsa20") as new (nonce: Uint8Array, key: Uint8Array) => { update(input: Uint8Array): Uint8Array };

describe("xsalsa20 shared-memory fix", () => {
  // Without the fix this throws "Maximum memory size exceeded" within ~60 updates (8 streams,
  // 3 MB chunks: each stale view grows the memory by its full size again).
  it("many ciphers with large chunks neither exhaust the memory nor corrupt data", () => {
    expect(xsalsa20Fixed).toBe(true);
    const key = new Uint8Array(32).fill(7);
    const pairs = Array.from({ length: 8 }, (_, i) => {
      const nonce = new Uint8Array(24).fill(i + 1);
      return { enc: new XSalsa20(nonce, key), dec: new XSalsa20(nonce, key) };
    });
    const big = new Uint8Array(3_000_000).map((_, i) => (i * 31) & 0xff);
    const small = new Uint8Array(70_001).map((_, i) => (i * 17) & 0xff);
    for (let i = 0; i < 120; i++) {
      const p = pairs[i % 8];
      const plain = i % 3 === 0 ? big : small;
      const back = p.dec.update(p.enc.update(plain));
      if (i % 20 === 0) expect(Buffer.from(back).equals(Buffer.from(plain))).toBe(true);
    }
  });
});
