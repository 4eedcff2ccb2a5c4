// A delta received from `sender` may only carry stamps `sender` made: gossip is signed (StrictSign) and
// direct streams are authenticated (noise), so this ties every register to the key that wrote it. A
// node cannot forge another node's writes through gossip.
import type { RecordDelta } from "../../protocol/crdt/lww-map.ts";

export function stampedBy(delta: RecordDelta, sender: string): boolean {
  if (delta == null || typeof delta !== "object" || typeof delta.fields !== "object" || delta.fields === null) return false;
  if (delta.deleted && delta.deleted.node !== sender) return false;
  for (const name of Object.keys(delta.fields)) {
    const f = delta.fields[name];
    if (f == null || typeof f !== "object" || f.t == null || f.t.node !== sender) return false;
  }
  return true;
}
