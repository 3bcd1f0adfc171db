import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { CONTENT_SECURITY_POLICY } from "../../worker/middleware/security-headers";
import { locationResponse } from "../../protocol";
import { ORIGIN, api, expectError, ingestOk, locationPath, parsed, postIngest, storedReadings } from "./support/api";
import { reading } from "./support/events";

/** A real Rate Limiting binding with a low limit (3 per 60 s, vitest.config.ts), swapped in for the generous ones. */
const tight = (env as Env & { TEST_TIGHT_RATE_LIMIT: RateLimit }).TEST_TIGHT_RATE_LIMIT;

function expectSecurityHeaders(res: Response, what: string): void {
  expect(res.headers.get("content-security-policy"), what).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
}

describe("security headers on every response", () => {
  it("the policy: self only, no inline script, never framed", () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
  });

  it("API answers: 200, 400, 401, 404, 426 and the dashboard passed on to the assets binding", async () => {
    const cases: [string, RequestInit?][] = [
      ["/api/v1/health"],
      [locationPath("edge-headers")],
      [locationPath("bad/name")],
      ["/api/v1/locations/edge-headers/stats"],
      ["/api/v1/nope"],
      [locationPath("edge-headers", "/live")],
      ["/api/v1/session"],
      ["/locations/edge-headers"],
    ];
    for (const [path, init] of cases) {
      const res = await api(path, init);
      expectSecurityHeaders(res, `${path} (${res.status})`);
      await res.body?.cancel();
    }
    const fromAssets = await app.request(`${ORIGIN}/`, {}, env);
    expect(fromAssets.status).toBe(200);
    expectSecurityHeaders(fromAssets, "/ through the worker");
  });
});

describe("live sockets check Origin", () => {
  const open = (origin: string | undefined, withEnv: Env = env) =>
    app.request(`${ORIGIN}${locationPath("edge-origin", "/live")}`, { headers: { upgrade: "websocket", ...(origin ? { origin } : {}) } }, withEnv);

  const accepted = async (res: Response | Promise<Response>) => {
    const r = await res;
    expect(r.status).toBe(101);
    r.webSocket!.accept();
    r.webSocket!.close(1000, "done");
  };

  it("same origin and no Origin (a non-browser client) are let in", async () => {
    await accepted(open(ORIGIN));
    await accepted(open(undefined));
  });

  it("a foreign Origin is 403, and opens nothing", async () => {
    for (const origin of ["https://evil.example", "http://hub.test", "https://hub.test.evil.example", "null"]) {
      await expectError(await open(origin), 403, `origin ${origin} may not open this socket`);
    }
  });

  it("ALLOWED_ORIGINS (comma-separated) widens it", async () => {
    const widened = { ...env, ALLOWED_ORIGINS: "https://wall.example.org, https://kiosk.example.org/" } as Env;
    await accepted(open("https://wall.example.org", widened));
    await accepted(open("https://kiosk.example.org", widened));
    await expectError(await open("https://evil.example", widened), 403, "origin https://evil.example may not open this socket", [
      "allowed: https://hub.test, https://wall.example.org, https://kiosk.example.org (set ALLOWED_ORIGINS to add more)",
    ]);
  });
});

describe("rate limits (Workers Rate Limiting binding)", () => {
  it("reads per client IP: beyond the limit 429 with Retry-After; another IP is not affected", async () => {
    const limited = { ...env, READ_RATE_LIMIT: tight } as Env;
    const read = (ip: string) => app.request(`${ORIGIN}${locationPath("edge-rate")}`, { headers: { "cf-connecting-ip": ip } }, limited);
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await read("198.51.100.7");
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(refused!.headers.get("retry-after")).toBe("60");
    await expectError(refused!, 429, "too many requests from this address");
    expect((await read("198.51.100.8")).status).toBe(200);
  });

  it("socket upgrades count as reads", async () => {
    const limited = { ...env, READ_RATE_LIMIT: tight } as Env;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.request(`${ORIGIN}${locationPath("edge-rate", "/live")}`, { headers: { upgrade: "websocket", "cf-connecting-ip": "198.51.100.9" } }, limited);
      statuses.push(res.status);
      if (res.webSocket) {
        res.webSocket.accept();
        res.webSocket.close(1000, "done");
      }
    }
    expect(statuses).toEqual([101, 101, 101, 429]);
  });

  it("ingest per token: 429 with Retry-After: 10, and nothing stored from the refused batch", async () => {
    const limited = { ...env, INGEST_RATE_LIMIT: tight } as Env;
    const post = (id: string) =>
      app.request(`${ORIGIN}/api/v1/ingest`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.INGEST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ events: [reading("edge-ingest-rate", { id })] }),
      }, limited);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(`rate-${i}`);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("retry-after")).toBe("10");
        await expectError(res, 429, "too many ingest requests for this token");
      } else await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await storedReadings("edge-ingest-rate")).map((e) => e.id)).toEqual(["rate-0", "rate-1", "rate-2"]);
  });
});

describe("location names: NFC and one script", () => {
  const composed = "Caf\u00e9 Zürich";
  const decomposed = composed.normalize("NFD");

  it("a decomposed name is the same location as the composed one (ingest body and route parameter)", async () => {
    expect(decomposed).not.toBe(composed);
    await ingestOk([reading(decomposed, { id: "nfc-1" }), reading(composed, { id: "nfc-2" })]);
    expect((await storedReadings(composed)).map((e) => e.id)).toEqual(["nfc-1", "nfc-2"]);
    expect((await storedReadings(decomposed)).map((e) => e.id)).toEqual(["nfc-1", "nfc-2"]);
    expect((await parsed(await api(locationPath(decomposed)), locationResponse)).location).toBe(composed);
  });

  it("accepts one script, or Latin with Japanese, Chinese or Korean (Unicode's highly restrictive level)", async () => {
    for (const name of ["MTC 2", "МТС", "Αθήνα", "東京", "東京タワー とうきょう", "서울 本社", "Share 東京"]) {
      const res = await api(locationPath(name));
      expect(res.status, name).toBe(200);
      await res.body?.cancel();
    }
  });

  it("refuses a name mixing scripts, in the path and in an ingest body, with the reason", async () => {
    const mixed = "MТС"; // Latin M, Cyrillic Т and С
    const reason = "location mixes scripts (Latin and Cyrillic): a name that looks like another is refused; write it in one script";
    await expectError(await api(locationPath(mixed)), 400, "invalid location", [reason]);
    await expectError(await api(locationPath("Αthens")), 400, "invalid location", [
      "location mixes scripts (Greek and Latin): a name that looks like another is refused; write it in one script",
    ]);
    const res = await postIngest({ events: [reading(mixed, { id: "mixed-1" })] });
    const body = (await res.json()) as { accepted: number; rejected: { index: number; errors: string[] }[] };
    expect(res.status).toBe(200);
    expect(body.accepted).toBe(0);
    expect(body.rejected).toEqual([{ index: 0, id: "mixed-1", errors: [`location: ${reason}`] }]);
  });
});
