import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";

/**
 * A small local webhook receiver (`npm start` runs one; tests script its
 * answers): it verifies each delivery's Standard Webhooks signature with
 * node:crypto, keeps what arrived, and answers what `answer` says (200 by default).
 */

export interface Delivery {
  /** When it arrived (ms). */
  at: number;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Whether one of the `v1,` signatures is the HMAC of `{id}.{timestamp}.{body}` under the secret. */
  verified: boolean;
  /** The status answered. */
  status: number;
  headers: IncomingHttpHeaders;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  secret: string;
  deliveries: Delivery[];
  stop(): Promise<void>;
}

export interface ReceiverOptions {
  /** Default: a new `whsec_` of 32 random bytes. */
  secret?: string;
  /** 0: any free port. */
  port?: number;
  /** What to answer delivery `n` (0-based); default 200. */
  answer?: (n: number, delivery: Omit<Delivery, "status">) => ReceiverAnswer;
  /** Called with each delivery once answered. */
  onDelivery?: (delivery: Delivery) => void;
}

export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`;

/** Whether `header` (space-separated `v1,<base64>` signatures) holds the HMAC of `{id}.{timestamp}.{body}`. */
export function verifySignature(secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(" ").some((part) => {
    const [version, b64] = part.split(",", 2);
    if (version !== "v1" || !b64) return false;
    const given = Buffer.from(b64, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startWebhookReceiver(options: ReceiverOptions = {}): Promise<WebhookReceiver> {
  const secret = options.secret ?? newWebhookSecret();
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const header = (name: string) => String(req.headers[name] ?? "");
      const body = Buffer.concat(chunks).toString("utf8");
      const seen = {
        at: Date.now(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        verified: verifySignature(secret, header("webhook-id"), header("webhook-timestamp"), body, header("webhook-signature")),
        headers: req.headers,
      };
      const answer = options.answer?.(deliveries.length, seen) ?? { status: 200 };
      const delivery = { ...seen, status: answer.status };
      deliveries.push(delivery);
      res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
      res.end(answer.status < 300 ? "ok" : "not now");
      options.onDelivery?.(delivery);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    secret,
    deliveries,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
