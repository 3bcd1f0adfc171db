import type { z } from "zod";
import { errorBody, type ErrorBody } from "../protocol";
import { parseRetryAfter } from "./backoff";

/**
 * The one HTTP client for the bridge's calls to the worker: bearer token,
 * a timeout per request, the contract's error body recognised (and told apart
 * from what a proxy, a WAF or a wrong URL answers), Retry-After read. It never
 * throws for a failed exchange: every caller must decide what a network error,
 * a foreign answer and a contract error mean for it.
 */

export interface WorkerClientOptions {
  token: string;
  timeoutMs: number;
  /** Aborts every request in flight (the caller is stopping). */
  signal?: AbortSignal;
}

export type WorkerAnswer =
  /** No HTTP answer: refused, reset, DNS, TLS, timeout, or aborted. */
  | { kind: "network"; reason: string; aborted: boolean }
  | {
      kind: "http";
      status: number;
      /** The body as text (answers are small; a proxy's HTML page is kept whole to be cut by `describe`). */
      text: string;
      /** The body parsed as JSON, or undefined when it is not JSON. */
      json: unknown;
      /** The contract's `{"error","issues"}` when the body is one: only then did the worker itself answer an error. */
      error: ErrorBody | undefined;
      /** What a `Retry-After` header asked for, in ms. */
      retryAfterMs: number | undefined;
      durationMs: number;
    };

export type HttpAnswer = Extract<WorkerAnswer, { kind: "http" }>;

export class WorkerClient {
  constructor(private readonly options: WorkerClientOptions) {}

  /** One request; `body` is sent as JSON when given. */
  async request(method: "GET" | "POST" | "PUT" | "DELETE", url: string, body?: string): Promise<WorkerAnswer> {
    const started = performance.now();
    const signals = [AbortSignal.timeout(this.options.timeoutMs)];
    if (this.options.signal) signals.push(this.options.signal);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        // The answers are small: compressing them costs both sides more than it saves.
        headers: {
          authorization: `Bearer ${this.options.token}`,
          "accept-encoding": "identity",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      return { kind: "network", reason: networkReason(e), aborted: this.options.signal?.aborted ?? false };
    }
    const text = await res.text().catch(() => "");
    const json = parseJson(text);
    const error = res.status >= 400 ? errorBody.safeParse(json) : undefined;
    return {
      kind: "http",
      status: res.status,
      text,
      json,
      error: error?.success ? error.data : undefined,
      retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
      durationMs: performance.now() - started,
    };
  }
}

/** The body of a 2xx as `schema` says, or undefined when it is not (then the answer is not the worker's contract). */
export function contractBody<S extends z.ZodType>(answer: HttpAnswer, schema: S): z.output<S> | undefined {
  const parsed = schema.safeParse(answer.json);
  return parsed.success ? parsed.data : undefined;
}

/** A line for logs and /healthz: `HTTP 500: internal error` or `HTTP 400 (not the worker's error body): <html>…`. */
export function describeAnswer(answer: WorkerAnswer): string {
  if (answer.kind === "network") return `network: ${answer.reason}`;
  if (answer.error) return `HTTP ${answer.status}: ${[answer.error.error, ...answer.error.issues].join("; ")}`;
  const body = answer.text.trim().slice(0, 200) || "(no body)";
  return answer.status >= 400 ? `HTTP ${answer.status} (not the worker's error body): ${body}` : `HTTP ${answer.status}: ${body}`;
}

/** The worker's `{"error","issues"}` as lines, or the raw text (cut). */
export function describeError(text: string): string[] {
  const parsed = errorBody.safeParse(parseJson(text));
  if (parsed.success) return [parsed.data.error, ...parsed.data.issues];
  return text ? [text.slice(0, 500)] : [];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function networkReason(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return "timeout";
  return `${err.cause?.code ?? err.name}: ${err.cause ? String(err.cause.message ?? err.cause) : err.message}`;
}
