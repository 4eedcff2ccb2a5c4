import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", ".tools/**", ".peerstack/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // 2 cores: more workers only thrash; VM and multi-process tests do their own parallelism.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
