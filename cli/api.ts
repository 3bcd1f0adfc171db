import type { z } from "zod";
import { errorBody, formatIssues } from "../protocol";

/** A failure to report (exit code 1): the API's error and its reasons, or what went wrong on the way. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly reasons: string[] = [],
    /** The worker's answer, when it gave one: status and JSON body (a 410 carries `firstSeq`). */
    readonly answer?: { status: number; body: unknown },
  ) {
    super(message);
  }
}

export type Auth = "admin" | "read";

export interface ApiClient {
  /** Sends a request and returns its body, checked against `schema` (the contract's response). */
  request<S extends z.ZodType>(method: string, path: string, schema: S, options?: { auth?: Auth; body?: unknown }): Promise<z.output<S>>;
  /** The WebSocket URL of `path`. */
  socketUrl(path: string): string;
  /** Headers for a read (the viewer token, when set). */
  readHeaders(): Record<string, string>;
}

const TIMEOUT_MS = 30_000;

/** The CLI's HTTP client: bearer tokens by route kind, the contract's error body turned into reasons. */
export function apiClient(config: { url: string; adminToken: string | undefined; viewerToken: string | undefined }): ApiClient {
  const tokenFor = (auth: Auth): string | undefined => {
    if (auth === "read") return config.viewerToken;
    if (!config.adminToken) throw new CliFailure("no admin token", ["set ADMIN_TOKEN or pass --admin-token (locally, .dev.vars holds it)"]);
    return config.adminToken;
  };
  return {
    async request(method, path, schema, { auth = "read", body } = {}) {
      const headers: Record<string, string> = { accept: "application/json" };
      const token = tokenFor(auth);
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      let res: Response;
      try {
        res = await fetch(config.url + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new CliFailure(`cannot reach ${config.url}`, [cause?.code ?? cause?.message ?? (e as Error).message]);
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const error = errorBody.safeParse(json);
        if (error.success) throw new CliFailure(`${method} ${path}: ${res.status} ${error.data.error}`, error.data.issues, { status: res.status, body: json });
        throw new CliFailure(`${method} ${path}: ${res.status} ${res.statusText}`, [text.slice(0, 300) || "(empty body)"]);
      }
      // No content (a DELETE): the caller's schema says whether that is an answer it takes.
      if (res.status === 204) return schema.parse(undefined);
      if (json === undefined) {
        throw new CliFailure(`${method} ${path}: the answer is not JSON (is ${config.url} a happy-hub worker?)`, [
          `${res.status}, content-type ${res.headers.get("content-type") ?? "none"}: ${text.slice(0, 100)}`,
        ]);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new CliFailure(`${method} ${path}: the answer does not match the contract (is ${config.url} a happy-hub worker of this version?)`, formatIssues(parsed.error));
      }
      return parsed.data;
    },
    socketUrl(path) {
      return config.url.replace(/^http/, "ws") + path;
    },
    readHeaders(): Record<string, string> {
      return config.viewerToken ? { authorization: `Bearer ${config.viewerToken}` } : {};
    },
  };
}
