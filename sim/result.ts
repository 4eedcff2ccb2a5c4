// The shape of metrics.json.
import type { BaselineResult } from "./baseline.ts";
import type { Violation } from "./checkers.ts";

export interface SimMetrics {
  scenario: string;
  seed: number;
  nodes: number;
  azs: number;
  /** Every fault setting and every fault event, as drawn from the seed. */
  faults: { settings: Record<string, unknown>; events: string[] };
  auction: {
    requested: number;
    placed: number;
    rejected: number;
    quotaRejected: number;
    abandoned: number;
    deleted: number;
    firstRejectionMs: number | null;
    utilisationAtFirstRejection: number | null;
    utilisation: Array<[number, number]>;
    latencyMs: { p50: number; p99: number; max: number; cdf: Array<[number, number]> };
    meanAttempts: number;
    finalUtilisation: number;
  };
  baseline: BaselineResult;
  utilisationRatioAtFirstRejection: number | null;
  messages: { total: number; safetyPhase: number; byCategory: Record<string, number>; /** Auction + quota messages per placement request. */ perPlacement: number; advertsPerPlacement: number; /** Quota delta gossip (node escrow) per placement request. */ quotaGossipPerPlacement: number };
  convergence: { catalog: boolean; capacityViews: boolean; catalogConvergedAfterHealMs: number | null; transientDuplicates: number };
  violations: Violation[];
}
