import { Validator, type Schema } from "@cfworker/json-schema";
import { openApiDocument } from "../../../worker/openapi";

/**
 * Checks real answers against the OpenAPI document the worker serves: the
 * contract tests' `parsed()` runs every JSON answer through here, so the
 * document's schemas are held to what the routes really send.
 */
type Operation = { responses: Record<string, { content?: Record<string, { schema?: Schema }> }> };
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export const document = openApiDocument() as unknown as Doc;

/** Templates as regexes, literal ones first so `/locations` never matches `{location}`. */
const templates = Object.keys(document.paths)
  .sort((a, b) => a.split("{").length - b.split("{").length)
  .map((template) => ({ template, regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+").replace(/\./g, "\\.")}$`) }));

const validators = new Map<Schema, Validator>();
const resolve = (schema: Schema): Schema => {
  const ref = (schema as { $ref?: string }).$ref;
  return ref?.startsWith("#/components/schemas/") ? document.components.schemas[ref.slice("#/components/schemas/".length)]! : schema;
};

/** Problems of `body` as the answer `status` to `method path` (empty when the document describes it). */
export function undocumented(method: string, path: string, status: number, body: unknown): string[] {
  const pathname = new URL(path, "https://hub.test").pathname;
  const match = templates.find((t) => t.regex.test(pathname));
  const operation = match && document.paths[match.template]![method.toLowerCase()];
  // A request no operation takes gets the catch-all's 404 with the contract's error body, and nothing else.
  if (!match || !operation) return status === 404 ? check(`${method} ${pathname}`, status, document.components.schemas.Error!, body) : [`${method} ${pathname}: not in the document, yet answered ${status}`];
  const response = operation.responses[String(status)];
  if (!response) return [`${method} ${match.template}: answered ${status}, which the document does not list (${Object.keys(operation.responses).join(", ")})`];
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return [`${method} ${match.template} ${status}: the document has no JSON schema for it`];
  return check(`${method} ${match.template}`, status, resolve(schema), body);
}

function check(what: string, status: number, schema: Schema, body: unknown): string[] {
  let validator = validators.get(schema);
  if (!validator) validators.set(schema, (validator = new Validator(schema, "2020-12", false)));
  const result = validator.validate(body);
  return result.valid ? [] : result.errors.map((e) => `${what} ${status}: ${e.instanceLocation} ${e.error}`);
}
