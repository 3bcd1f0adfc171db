import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * Three projects:
 * - workers: the worker and its Durable Objects inside workerd (the real runtime);
 * - unit: pure domain/protocol/bridge logic in Node;
 * - node: integration in Node against real processes (wrangler dev, brokers, Chromium).
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Test-only secrets (wrangler.toml holds none); the 503 path is tested with an env lacking them.
            // A low socket cap so the cap itself can be tested; no other workers test opens this many on one location.
            miniflare: { bindings: { INGEST_TOKEN: "test-ingest-token", ADMIN_TOKEN: "test-admin-token", MAX_SOCKETS_PER_LOCATION: "20" } },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Integration suites start real servers; running them one at a time keeps ports and CPU predictable on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
