import { createHmac } from "node:crypto";

/**
 * A Standard Webhooks signature written from the spec with node:crypto, not
 * with the code under test: `v1,` + base64 HMAC-SHA256 of
 * "{id}.{timestamp}.{body}", keyed with the `whsec_` secret's decoded bytes.
 */
export function independentSignature(whsec: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(whsec.slice("whsec_".length), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}
