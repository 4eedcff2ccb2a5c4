// What the gateway needs of the replicated store (node/store/crdt-store.ts). The agent may pass a
// wrapper whose writes also wait for peer acknowledgements.
import type { CrdtStore } from "../node/store/crdt-store.ts";

export type GatewayStore = Pick<CrdtStore, "put" | "remove" | "get" | "list" | "stateOf">;
export type { CatalogRecord } from "../node/store/crdt-store.ts";
