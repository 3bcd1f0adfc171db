import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";
import { SECURITY_HEADERS } from "../worker/security-policy";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * Writes `_headers` next to the assets: the assets binding serves the
 * dashboard without running the worker, and applies these headers to every
 * file it serves. They are the worker's own SECURITY_HEADERS, so the page and
 * the API carry one policy.
 */
const securityHeadersFile = (): Plugin => ({
  name: "happy-hub-security-headers",
  apply: "build",
  generateBundle() {
    const lines = Object.entries(SECURITY_HEADERS).map(([name, value]) => `  ${name}: ${value}`);
    this.emitFile({ type: "asset", fileName: "_headers", source: ["/*", ...lines, ""].join("\n") });
  },
});

/**
 * The dashboard builds into the worker's static assets (wrangler.toml
 * `[assets] directory`). In dev, /api (HTTP and the live WebSocket) goes to a
 * local `wrangler dev` on 8787.
 */
export default defineConfig({
  root: here("."),
  plugins: [svelte(), securityHeadersFile()],
  resolve: {
    alias: [
      // zod with its compiled parsers off, configured before any schema exists (see src/lib/zod-config.ts).
      { find: /^zod$/, replacement: here("src/lib/zod-config.ts") },
      // zod's JSON Schema generation, which the dashboard never calls (see src/lib/zod-no-json-schema.ts).
      { find: /^\.\.?\/(core\/)?(to-json-schema|json-schema-processors)\.js$/, replacement: here("src/lib/zod-no-json-schema.ts") },
    ],
  },
  build: {
    outDir: here("../dist/dashboard"),
    emptyOutDir: true,
    target: "es2022",
    rolldownOptions: {
      onwarn(warning, warn) {
        // zod's classic schemas name each JSON Schema processor; the stand-in has none (none is ever called).
        if (warning.code === "IMPORT_IS_UNDEFINED" && warning.message.includes("zod-no-json-schema")) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8787", ws: true, changeOrigin: true },
    },
  },
});
