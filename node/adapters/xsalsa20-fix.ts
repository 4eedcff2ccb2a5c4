// Works around a bug in xsalsa20 1.2.0 (the cipher @libp2p/pnet uses for the cluster key): all
// instances share one WebAssembly memory, but each keeps its own Uint8Array view of it. When one
// instance grows the memory (any chunk larger than the memory, e.g. a > 640 KiB write) every other
// view is detached (length 0), so the next update of each of them grows the memory again by its full
// size; with a few connections this cascades to the 64 MiB maximum and the agent dies with
// "WebAssembly.Memory.grow(): Maximum memory size exceeded" (seen under load in the placement tests).
// The fix: before each update, point a stale view at the current buffer (the last one any update saw).
import { createRequire } from "node:module";

interface XorState {
  _memory?: Uint8Array;
}
interface XSalsa20Ctor {
  prototype: { update(this: { _xor?: XorState | null }, input: Uint8Array, output?: Uint8Array): Uint8Array; __peerstackFixed?: boolean };
}

// The copy @libp2p/pnet itself loads.
const req = createRequire(createRequire(import.meta.url).resolve("@libp2p/pnet"));
const XSalsa20 = req("xsalsa20") as XSalsa20Ctor;

if (!XSalsa20.prototype.__peerstackFixed) {
  const update = XSalsa20.prototype.update;
  let current: ArrayBufferLike | undefined;
  XSalsa20.prototype.update = function (input, output) {
    const x = this._xor;
    if (x?._memory && current && x._memory.buffer !== current) x._memory = new Uint8Array(current);
    const out = update.call(this, input, output);
    if (x?._memory) current = x._memory.buffer;
    return out;
  };
  XSalsa20.prototype.__peerstackFixed = true;
}

export const xsalsa20Fixed = true;
