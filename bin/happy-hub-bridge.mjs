#!/usr/bin/env node
// The package's `happy-hub-bridge` command: TypeScript runs through tsx.
import { register } from "tsx/esm/api";

register();
await import("../bridge/main.ts");
