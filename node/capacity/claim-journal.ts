// Claims made durable on the host: an award is answered only after its claim is on disk, so a host
// that is killed and restarts still counts every claim it granted (the server record naming it may
// reach it only later). Released claims are deleted lazily (a leftover is harmless: the stray-claim
// rule frees it once the record says so). Pure over the injected KvStore and Clock.
import { pack, unpack } from "msgpackr";
import type { Cancel, Clock } from "../../protocol/clock.ts";
import type { KvStore } from "../store/kv.ts";
import type { Allocation, Ledger } from "./ledger.ts";

const PREFIX = "claim/";

export interface ClaimJournalComponents {
  clock: Clock;
  kv: KvStore;
  ledger: Ledger;
}

export interface ClaimJournal {
  /** Re-adopts the claims on disk into the ledger; returns how many. */
  load(): Promise<number>;
  /** Makes the ledger's claim of `serverId` durable (sync). */
  persist(serverId: string): Promise<void>;
  /** Starts deleting released claims (coalesced after ledger changes). */
  start(): void;
  /** Stops and waits for the last deletions. */
  stop(): Promise<void>;
  /** Server ids on disk (tests). */
  readonly stored: ReadonlySet<string>;
}

export function claimJournal(init: { tidyMs?: number } = {}): (c: ClaimJournalComponents) => ClaimJournal {
  const tidyMs = init.tidyMs ?? 200;
  return (c) => {
    const stored = new Set<string>();
    let pending: Cancel | undefined;
    let tidying: Promise<void> = Promise.resolve();
    let off: (() => void) | undefined;

    const tidy = () => {
      pending = undefined;
      const gone = [...stored].filter((id) => !c.ledger.hasClaim(id));
      if (gone.length === 0) return;
      for (const id of gone) stored.delete(id);
      tidying = tidying.then(() => c.kv.batch(gone.map((id) => ({ type: "del" as const, key: PREFIX + id })))).catch(() => {});
    };

    return {
      stored,
      async load() {
        let n = 0;
        for await (const [key, value] of c.kv.iterate({ prefix: PREFIX })) {
          const a = unpack(value) as Allocation;
          stored.add(key.slice(PREFIX.length));
          if (!c.ledger.hasClaim(a.serverId)) {
            c.ledger.adopt({ serverId: a.serverId, attempt: a.attempt, resources: a.resources, ...(a.group ? { group: a.group } : {}) });
            n++;
          }
        }
        return n;
      },
      async persist(serverId) {
        const a = c.ledger.claimsList().find((x) => x.serverId === serverId);
        if (!a) return;
        stored.add(serverId);
        await c.kv.batch([{ type: "put", key: PREFIX + serverId, value: pack({ serverId, attempt: a.attempt, resources: a.resources, group: a.group }) }], { sync: true });
      },
      start() {
        off = c.ledger.onChange(() => {
          pending ??= c.clock.schedule(tidyMs, tidy);
        });
      },
      async stop() {
        off?.();
        pending?.();
        tidy();
        await tidying;
      },
    };
  };
}
