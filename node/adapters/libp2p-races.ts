// Exceptions libp2p throws from its own microtasks, outside any call of ours, when a connection closes
// under a stream it is still opening. The agent exits on an uncaught exception (state unknown), but
// these leave nothing of ours half-done: the stream never opened, its request fails on its own.
// Seen: @chainsafe/libp2p-yamux 8.0.1 muxer.js newStream -> queueMicrotask(sendWindowUpdate) after
// the connection was closed (a peer hung up on by the dead-connection check, under load).

/** True for the known benign libp2p races (matched by error name and where it was thrown). */
export function isLibp2pStreamRace(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== "StreamStateError") return false;
  const stack = err.stack ?? "";
  return stack.includes("libp2p-yamux") && stack.includes("sendWindowUpdate");
}
