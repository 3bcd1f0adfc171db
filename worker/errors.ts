import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { formatIssues, wellFormedText, type ErrorBody } from "../protocol";

/** An error the client caused or can act on, answered as `{"error","issues"}`. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly error: string,
    readonly issues: string[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message: error });
  }
}

export const invalid = (error: string, zodError: ZodError): ApiError => new ApiError(400, error, formatIssues(zodError));

/** A live route answers 426 unless the request asks for a WebSocket. */
export function requireUpgrade(upgrade: string | undefined): void {
  if (upgrade?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "expected a WebSocket upgrade", ["connect with a WebSocket client (Upgrade: websocket)"], { Upgrade: "websocket" });
  }
}

/** Hono's onError: every failure leaves as the contract's JSON error body. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    // Issues may quote the client's input (a JSON parser's message does): they leave as valid Unicode.
    return c.json({ error: err.error, issues: err.issues.map(wellFormedText) } satisfies ErrorBody, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    return c.json({ error: err.message || "request failed", issues: [] } satisfies ErrorBody, err.status);
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled", path: c.req.path, error: String(err), stack: err.stack }));
  return c.json({ error: "internal error", issues: [] } satisfies ErrorBody, 500);
}
