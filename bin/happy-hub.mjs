#!/usr/bin/env node
// The package's `happy-hub` command (the operator's CLI): the JavaScript `npm run build` bundles from cli/ into lib/.
await import("../lib/cli.mjs");
