import { describe, expect, it } from "vitest";
import { isLibp2pStreamRace } from "./libp2p-races.ts";

const raced = (name: string, stack: string) => Object.assign(new Error("Cannot write to a stream that is closed"), { name, stack });

describe("libp2p races the agent survives", () => {
  it("matches yamux's window update on a closed connection, nothing else", () => {
    const yamux = "StreamStateError: Cannot write to a stream that is closed\n    at EncryptedMessageStream.send (file:///x/node_modules/@libp2p/utils/dist/src/abstract-message-stream.js:123:19)\n    at YamuxStream.sendWindowUpdate (file:///x/node_modules/@chainsafe/libp2p-yamux/dist/src/stream.js:245:14)";
    expect(isLibp2pStreamRace(raced("StreamStateError", yamux))).toBe(true);
    expect(isLibp2pStreamRace(raced("TypeError", yamux))).toBe(false);
    expect(isLibp2pStreamRace(raced("StreamStateError", "StreamStateError: x\n    at ours (file:///x/node/auction/bidder.ts:1:1)"))).toBe(false);
    expect(isLibp2pStreamRace("a string")).toBe(false);
  });
});
