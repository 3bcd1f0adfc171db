// The dashboard's "zod" (dashboard/vite.config.ts aliases the bare import here): zod itself, with its compiled
// parsers switched off before any module can build a schema. The page's policy forbids eval (script-src 'self');
// zod decides at each object schema's construction whether to compile parsers with `new Function`, and probing
// for it trips a CSP violation report. Configuring here, inside the module every schema imports zod from,
// holds whatever chunks the bundler makes (a config call in main.ts ran after a shared chunk had built schemas).
import { z } from "zod/v4";

z.config({ jitless: true });

export * from "zod/v4";
