/**
 * Stands in for zod's `fromJSONSchema` in the deployed bundle (wrangler.toml
 * `[alias]`): the worker turns zod schemas into JSON Schema (the OpenAPI
 * document), never the other way, and the converter is ~3 KiB gzipped of the
 * 100 KiB budget.
 */
export function fromJSONSchema(): never {
  throw new Error("zod's fromJSONSchema is not bundled in the worker (wrangler.toml [alias])");
}
