#!/usr/bin/env -S node --max-old-space-size=96
// The package's `happy-hub-bridge` command: TypeScript runs through tsx.
// The heap cap keeps V8 from letting garbage pile up (without it the bridge's RSS creeps towards 200 MB
// under a sustained stream; with it, it stays near 150 MB). Run it as `node --max-old-space-size=96 bin/…` too.
import { register } from "tsx/esm/api";

register();
await import("../bridge/main.ts");
