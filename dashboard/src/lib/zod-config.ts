import { z } from "zod";

// The page's policy forbids eval (script-src 'self'). Zod decides at each object schema's construction whether
// to compile parsers with `new Function`, and probing for it trips a CSP violation report on every load: the
// compiled parsers are switched off (parsing works the same, interpreted). Imported first by main.ts, before
// any schema is built.
z.config({ jitless: true });
