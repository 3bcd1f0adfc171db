import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The dashboard builds into the worker's static assets (wrangler.toml
 * `[assets] directory`). In dev, /api (HTTP and the live WebSocket) goes to a
 * local `wrangler dev` on 8787.
 */
export default defineConfig({
  root: here("."),
  plugins: [svelte()],
  build: {
    outDir: here("../dist/dashboard"),
    emptyOutDir: true,
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8787", ws: true, changeOrigin: true },
    },
  },
});
