import { kvContract } from "./kv.contract.ts";
import { MemoryKv } from "./memory-kv.ts";

kvContract("MemoryKv", {
  open: async () => new MemoryKv(),
  reopen: async (kv) => (kv as MemoryKv).reopen(),
  cleanup: async () => {},
});
