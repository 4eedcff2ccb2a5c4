// One decode per gossip message, whatever the number of subscribers that receive the same bytes in
// this process (the simulator's thousands of nodes; several components of one node on a topic). The
// result is deep-frozen, so no receiver can change what the others see; a decode failure is kept and
// thrown again to every receiver. Receivers still check what concerns them (e.g. sender identity).
// With libp2p each delivery has its own bytes: then this is one WeakMap lookup that misses.

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Freezes a decoded value and everything in it (plain data: objects, arrays, primitives). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k]);
  return Object.freeze(value);
}

/** Wraps `read` (bytes → validated value) so that the same bytes object is read only once. */
export function sharedDecoder<T>(read: (data: Uint8Array) => T): (data: Uint8Array) => T {
  const seen = new WeakMap<Uint8Array, Outcome<T>>();
  return (data) => {
    let o = seen.get(data);
    if (!o) {
      try {
        o = { ok: true, value: deepFreeze(read(data)) };
      } catch (error) {
        o = { ok: false, error };
      }
      seen.set(data, o);
    }
    if (o.ok) return o.value;
    throw o.error;
  };
}
