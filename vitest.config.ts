import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const RETENTION_TESTS = "test/workers/retention*.test.ts";

/** A project running test files inside workerd, with the test bindings plus `bindings`. */
function workersProject(
  name: string,
  {
    include = ["test/workers/**/*.test.ts"],
    exclude = [],
    bindings = {},
  }: { include?: string[]; exclude?: string[]; bindings?: Record<string, string> },
) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        // Test-only secrets (wrangler.toml holds none); the 503 path is tested with an env lacking them.
        // A low socket cap so the cap itself can be tested; no other workers test opens this many on one location.
        // Secrets are 32+ characters (shorter ones answer 503). VIEWER_TOKEN is not set here: reads are public
        // by default, and the access tests pass an env that sets it. TEST_TIGHT_RATE_LIMIT is a real binding
        // with a low limit that the rate-limit tests swap in for READ_RATE_LIMIT / INGEST_RATE_LIMIT.
        miniflare: {
          bindings: {
            INGEST_TOKEN: "test-ingest-token-0123456789abcdef",
            ADMIN_TOKEN: "test-admin-token-0123456789abcdefg",
            SHARE_SECRET: "test-share-secret-0123456789abcdef",
            MAX_SOCKETS_PER_LOCATION: "20",
            // test/workers/fuzz.test.ts: its case count and seed (`npm run fuzz` raises the count).
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
            FUZZ_SEED: process.env.FUZZ_SEED ?? "",
            ...bindings,
          },
          // The pool's own limits are out of reach (a test file may read thousands of times a minute, all
          // from one "address"); wrangler.toml's defaults apply under wrangler dev and in production.
          ratelimits: {
            READ_RATE_LIMIT: { namespace_id: "1001", simple: { limit: 1_000_000, period: 60 } },
            INGEST_RATE_LIMIT: { namespace_id: "1002", simple: { limit: 1_000_000, period: 10 } },
            TEST_TIGHT_RATE_LIMIT: { namespace_id: "9001", simple: { limit: 3, period: 60 } },
          },
        },
      }),
    ],
    test: {
      name,
      include,
      exclude,
    },
  };
}

/**
 * Four projects:
 * - workers: the worker and its Durable Objects inside workerd (the real runtime);
 * - workers-retention: the same with RETENTION_DAYS set (test/workers/retention*.test.ts only);
 * - unit: pure domain/protocol/bridge logic in Node;
 * - node: integration in Node against real processes (wrangler dev, brokers, Chromium).
 */
export default defineConfig({
  test: {
    projects: [
      workersProject("workers", { exclude: [RETENTION_TESTS] }),
      // The same runtime with a retention of 8.64 s, so the real alarm drops readings within a test.
      workersProject("workers-retention", { include: [RETENTION_TESTS], bindings: { RETENTION_DAYS: "0.0001" } }),
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
