// Native read-only placement routes (next to /mesh and /metrics): this host's ledger, its view of a
// project's quota counters, and the decision latencies of the auctions it ran as front node. Tests
// and bench/placement-processes.bench.ts check invariants and measure through them.
import type { FastifyInstance } from "fastify";
import * as bc from "../../protocol/crdt/bounded-counter.ts";
import { limits } from "../../protocol/placement/index.ts";
import { DEFAULT_LIMITS, type QuotaResource } from "../quota/limits.ts";
import { systemClock } from "../runtime/system.ts";
import type { RunningPlacement } from "./placement-wiring.ts";

export function placementRoutes(app: FastifyInstance, self: string, p: RunningPlacement, opts: { debug?: boolean } = {}): void {
  app.get("/peerstack/ledger", async () => {
    p.ledger.expire(systemClock.now()); // a hold past its TTL holds nothing: do not report it
    const state = p.ledger.state();
    return {
      node: self,
      enabled: state.enabled,
      total: state.total,
      ratios: state.ratios,
      limits: limits(state),
      used: p.ledger.usage(),
      claims: p.ledger.claimsList().map((a) => ({ serverId: a.serverId, attempt: a.attempt, resources: a.resources, group: a.group ?? null })),
      holds: p.ledger.holdsList().length,
      groups: state.groups,
    };
  });

  // This node's rights (its own, authoritative) and its merged view of limit and usage.
  app.get<{ Params: { project: string } }>("/peerstack/quota/:project", async (req) => {
    const out: Record<string, { limit: number; usage: number; rights: number; minted: number; debt: number; target: number | null }> = {};
    for (const r of Object.keys(DEFAULT_LIMITS) as QuotaResource[]) {
      const s = p.quota.counter(req.params.project, r);
      out[r] = { limit: bc.limit(s), usage: bc.usage(s), rights: bc.rights(s, self), minted: bc.minted(s), debt: bc.totalDebt(s), target: s.target?.value ?? null };
    }
    return { node: self, project: req.params.project, resources: out };
  });

  // ?reset=1 clears the samples after reading (the bench measures one phase at a time).
  app.get<{ Querystring: { reset?: string } }>("/peerstack/placement/stats", async (req) => {
    const d = p.decisions;
    const out = { node: self, hosts: p.view.size, decisionsMs: [...d.ms], failures: d.failures, requester: { ...p.requester.stats }, quota: { ...p.quota.stats } };
    if (req.query.reset) {
      d.ms.length = 0;
      d.failures = 0;
    }
    return out;
  });

  if (!opts.debug) return;
  // Benchmark only (--debug-routes): runs `n` auctions from this node straight through the requester
  // (no API, no records), `concurrency` at a time, and reports their latencies and message counts.
  app.post<{ Body: { n: number; concurrency?: number; prefix: string; vcpus?: number; ramMb?: number; diskGb?: number } }>("/peerstack/debug/place", async (req) => {
    const b = req.body;
    const resources = { vcpus: b.vcpus ?? 1, ramMb: b.ramMb ?? 512, diskGb: b.diskGb ?? 1 };
    const ms: number[] = [];
    let failures = 0;
    let next = 0;
    const messages0 = p.requester.stats.messages;
    const t0 = performance.now();
    const worker = async () => {
      for (let i = next++; i < b.n; i = next++) {
        const s = performance.now();
        try {
          await p.requester.place({ serverId: `${b.prefix}-${i}`, project: "bench", resources });
        } catch {
          failures++;
        }
        ms.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, b.concurrency ?? 1) }, worker));
    return { node: self, ms, failures, wallMs: performance.now() - t0, messages: p.requester.stats.messages - messages0 };
  });
}
