// Stands in for zod's JSON Schema generation in the dashboard's bundle (dashboard/vite.config.ts aliases
// zod's `to-json-schema.js` and `json-schema-processors.js` here). zod's classic schemas import it for
// `.toJSONSchema()`, `~standard.jsonSchema` and the `minLength`/`maxLength`/`format` getters, none of which
// the dashboard calls; bundled, it was ~4 kB gzipped of the first visit. The worker serves the JSON Schema
// (GET /api/v1/openapi.json); anything here that is called says where it went.

const absent = (): never => {
  throw new Error("zod's JSON Schema generation is not bundled in the dashboard (dashboard/vite.config.ts)");
};

// to-json-schema.js: the methods classic schemas create (called only when used), and what the generator imports.
export const createToJSONSchemaMethod = () => absent;
export const createStandardJSONSchemaMethod = () => absent;
export const initializeContext = absent;
export const processSchema = absent;
export const extractDefs = absent;
export const finalize = absent;
// json-schema-processors.js: the entry point and the processor table.
export const toJSONSchema = absent;
export const allProcessors = {};
