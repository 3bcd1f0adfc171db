#!/usr/bin/env -S node --max-old-space-size=96
// The package's `happy-hub-bridge` command: the JavaScript `npm run build` bundles from bridge/ into lib/
// (committed, so that a production install, `npm ci --omit=dev`, needs no TypeScript tooling).
// The heap cap keeps V8 from letting garbage pile up (without it the bridge's RSS creeps towards 200 MB
// under a sustained stream; with it, it stays near 150 MB). Run it as `node --max-old-space-size=96 bin/…` too.
await import("../lib/bridge.mjs");
