import { ackResponse, type AckResponse } from "../../../protocol/notifications";
import { formatIssues } from "../../../protocol/issues";
import { ApiError, locationPath } from "./api";

/**
 * Acknowledging an alert needs the admin token, which the dashboard otherwise
 * never holds (viewer, session or share key only). The operator types it when
 * acknowledging; it lives in this module's memory for the page's life (so a
 * second alert needs no retyping) and is never written to storage, the URL or
 * a cookie: a reload forgets it.
 */
let adminToken: string | null = null;

export const rememberedToken = (): string | null => adminToken;
export const forgetToken = (): void => {
  adminToken = null;
};

/** The server's `{error, issues}` in one line, or the status. */
async function errorOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { error?: unknown; issues?: unknown } | null;
  if (body && typeof body.error === "string") {
    const issues = Array.isArray(body.issues) ? body.issues.filter((i): i is string => typeof i === "string") : [];
    return issues.length > 0 ? `${body.error}: ${issues.join("; ")}` : body.error;
  }
  return `HTTP ${response.status}`;
}

/**
 * POST …/alerts/{id}/ack with an optional comment. A 401 forgets the token
 * (it was wrong); a 409 (acknowledged already) and 400s come back as errors
 * with the server's reasons. `send` is fetch (a test passes its own).
 */
export async function acknowledgeAlert(location: string, alertId: string, comment: string, token: string, send: typeof fetch = fetch): Promise<AckResponse> {
  const path = `${locationPath(location)}/alerts/${encodeURIComponent(alertId)}/ack`;
  const trimmed = comment.trim();
  const response = await send(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(trimmed === "" ? {} : { comment: trimmed }),
  });
  if (response.status === 401) {
    forgetToken();
    throw new ApiError(`not acknowledged: ${await errorOf(response)} (check the admin token)`);
  }
  if (!response.ok) throw new ApiError(`not acknowledged: ${await errorOf(response)}`);
  adminToken = token;
  const parsed = ackResponse.safeParse(await response.json());
  if (!parsed.success) throw new ApiError(`${path}: unexpected answer (${formatIssues(parsed.error).join("; ")})`);
  return parsed.data;
}
