import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sessionResponse, sessionStatus, shareResponse } from "../../protocol";
import { app } from "../../worker/app";
import { makeShareKey } from "../../worker/credentials";
import { tokenMatches } from "../../worker/crypto";
import { ORIGIN, api, expectError, ingestOk, locationPath, parsed } from "./support/api";
import { reading } from "./support/events";

/**
 * Viewer access, share links and the secrets' rules. The worker's env in this
 * pool has no VIEWER_TOKEN (reads public); these tests run the real app with
 * the same bindings plus VIEWER_TOKEN, the way a deployment that sets it runs.
 */
const VIEWER_TOKEN = "test-viewer-token-0123456789abcdef";
const viewerEnv = { ...env, VIEWER_TOKEN } as Env;
const request = (path: string, init: RequestInit = {}, withEnv: Env = viewerEnv): Promise<Response> =>
  Promise.resolve(app.request(ORIGIN + path, init, withEnv));

const LOCATION = "access-here";
const OTHER = "access-elsewhere";

async function signIn(withEnv: Env = viewerEnv, token = VIEWER_TOKEN): Promise<string> {
  const res = await request("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) }, withEnv);
  await parsed(res.clone(), sessionResponse);
  const cookie = /^(hh_session=[^;]+);/.exec(res.headers.get("set-cookie") ?? "");
  expect(cookie, res.headers.get("set-cookie") ?? "no set-cookie").not.toBeNull();
  return cookie![1]!;
}

async function share(location: string, expiresInSeconds = 3600): Promise<{ url: string; key: string; expiresAt: string }> {
  const res = await request(locationPath(location, "/share"), {
    method: "POST",
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ expiresInSeconds }),
  });
  return parsed(res, shareResponse);
}

/** Every read route of one location and the list of all (which no share key opens). */
const READ_ROUTES: { name: string; path: (location: string) => string; oneLocation: boolean }[] = [
  { name: "GET /locations", path: () => "/api/v1/locations", oneLocation: false },
  { name: "GET /locations/{l}", path: (l) => locationPath(l), oneLocation: true },
  { name: "GET …/hourly", path: (l) => locationPath(l, "/hourly"), oneLocation: true },
  { name: "GET …/events", path: (l) => locationPath(l, "/events"), oneLocation: true },
  { name: "GET …/devices", path: (l) => locationPath(l, "/devices"), oneLocation: true },
  { name: "GET …/rules", path: (l) => locationPath(l, "/rules"), oneLocation: true },
  { name: "GET …/alerts", path: (l) => locationPath(l, "/alerts"), oneLocation: true },
  { name: "live socket", path: (l) => locationPath(l, "/live"), oneLocation: true },
];

type Credential = { name: string; headers: () => Promise<Record<string, string>>; query?: () => Promise<string> };
type Expectation = { status: number; error?: string };

describe("viewer access with VIEWER_TOKEN set: every read route and the live socket × every credential", () => {
  const keys = { here: "", other: "", expired: "", cookie: "" };
  const credentials: { credential: Credential; expect: (oneLocation: boolean) => Expectation }[] = [
    { credential: { name: "no token", headers: async () => ({}) }, expect: () => ({ status: 401, error: "viewer token required" }) },
    { credential: { name: "a wrong token", headers: async () => ({ authorization: "Bearer not-the-viewer-token-0123456789abcdef" }) }, expect: () => ({ status: 401, error: "invalid viewer token" }) },
    { credential: { name: "the viewer token", headers: async () => ({ authorization: `Bearer ${VIEWER_TOKEN}` }) }, expect: () => ({ status: 200 }) },
    { credential: { name: "the session cookie", headers: async () => ({ cookie: keys.cookie }) }, expect: () => ({ status: 200 }) },
    {
      credential: { name: "a share key for this location (?key=)", headers: async () => ({}), query: async () => keys.here },
      expect: (one) => (one ? { status: 200 } : { status: 403, error: `this share key is for location "${LOCATION}" only` }),
    },
    {
      credential: { name: "a share key for this location (bearer)", headers: async () => ({ authorization: `Bearer ${keys.here}` }) },
      expect: (one) => (one ? { status: 200 } : { status: 403, error: `this share key is for location "${LOCATION}" only` }),
    },
    {
      credential: { name: "a share key for another location", headers: async () => ({}), query: async () => keys.other },
      expect: () => ({ status: 403, error: `this share key is for location "${OTHER}" only` }),
    },
    { credential: { name: "an expired share key", headers: async () => ({}), query: async () => keys.expired }, expect: () => ({ status: 401, error: "share key expired" }) },
    { credential: { name: "the admin token", headers: async () => ({ authorization: `Bearer ${env.ADMIN_TOKEN}` }) }, expect: () => ({ status: 401, error: "invalid viewer token" }) },
    { credential: { name: "the ingest token", headers: async () => ({ authorization: `Bearer ${env.INGEST_TOKEN}` }) }, expect: () => ({ status: 401, error: "invalid viewer token" }) },
  ];

  it("setup: a location with data, keys and a session", async () => {
    await ingestOk([reading(LOCATION), reading(OTHER)]);
    keys.here = (await share(LOCATION)).key;
    keys.other = (await share(OTHER)).key;
    keys.expired = await makeShareKey(env.SHARE_SECRET!, LOCATION, Date.now() - 1000);
    keys.cookie = await signIn();
  });

  for (const route of READ_ROUTES) {
    for (const { credential, expect: expected } of credentials) {
      const want = expected(route.oneLocation);
      it(`${route.name} with ${credential.name} → ${want.status}`, async () => {
        const isSocket = route.name === "live socket";
        const query = credential.query ? `?key=${encodeURIComponent(await credential.query())}` : "";
        const headers = { ...(await credential.headers()), ...(isSocket ? { upgrade: "websocket" } : {}) };
        const res = await request(route.path(LOCATION) + query, { headers });
        if (want.status === 200) {
          if (isSocket) {
            expect(res.status).toBe(101);
            const ws = res.webSocket!;
            ws.accept();
            ws.close(1000, "done");
          } else {
            expect(res.status, await res.clone().text()).toBe(200);
            await res.body?.cancel();
          }
        } else {
          await expectError(res, want.status, want.error!);
          if (want.status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="happy-hub"/);
        }
      });
    }
  }

  it("VIEWER_TOKEN unset: every read route and the socket are public, credentials or not", async () => {
    for (const route of READ_ROUTES) {
      const isSocket = route.name === "live socket";
      const res = await api(route.path(LOCATION) + "?key=garbage", { headers: isSocket ? { upgrade: "websocket" } : {} });
      expect(res.status, route.name).toBe(isSocket ? 101 : 200);
      if (isSocket) {
        res.webSocket!.accept();
        res.webSocket!.close(1000, "done");
      } else await res.body?.cancel();
    }
    expect(await parsed(await api("/api/v1/session"), sessionStatus)).toEqual({ access: "public" });
  });

  it("a share key does not open writes or admin routes; the viewer token neither", async () => {
    const key = (await share(LOCATION)).key;
    for (const authorization of [`Bearer ${key}`, `Bearer ${VIEWER_TOKEN}`]) {
      await expectError(await request(locationPath(LOCATION, "/stats"), { headers: { authorization } }), 401, "invalid bearer token");
      await expectError(await request(locationPath(LOCATION, "/rebuild"), { method: "POST", headers: { authorization } }), 401, "invalid bearer token");
      await expectError(await request("/api/v1/ingest", { method: "POST", headers: { authorization }, body: "{}" }), 401, "invalid bearer token");
    }
  });

  it("a tampered key, a key signed with another secret and garbage are invalid (401)", async () => {
    const key = (await share(LOCATION)).key;
    const [prefix, loc, exp, sig] = key.split(".");
    const later = `${prefix}.${loc}.${Number(exp) + 1000}.${sig}`;
    const forged = await makeShareKey("another-secret-that-is-long-enough-000", LOCATION, Date.now() + 60_000);
    for (const bad of [later, forged, "share.x.1.y", "share.", `${key}x`]) {
      await expectError(await request(locationPath(LOCATION) + `?key=${encodeURIComponent(bad)}`), 401, "invalid share key");
    }
  });

  it("rotating SHARE_SECRET revokes every link", async () => {
    const key = (await share(LOCATION)).key;
    expect((await request(locationPath(LOCATION) + `?key=${key}`)).status).toBe(200);
    const rotated = { ...viewerEnv, SHARE_SECRET: "rotated-share-secret-0123456789abcdef" } as Env;
    await expectError(await request(locationPath(LOCATION) + `?key=${key}`, {}, rotated), 401, "invalid share key");
  });
});

describe("sessions: POST/GET/DELETE /api/v1/session", () => {
  it("signs in: an HttpOnly, Secure, SameSite=Strict cookie that holds no token", async () => {
    const res = await request("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: VIEWER_TOKEN }) });
    const body = await parsed(res.clone(), sessionResponse);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(6 * 24 * 3600_000);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^hh_session=v1\.\d+\.[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    expect(setCookie).not.toContain(VIEWER_TOKEN);
    const cookie = setCookie.split(";")[0]!;
    expect(await parsed(await request("/api/v1/session", { headers: { cookie } }), sessionStatus)).toEqual({ access: "signed-in" });
    expect(await parsed(await request("/api/v1/session"), sessionStatus)).toEqual({ access: "token-required" });
  });

  it("signs out: the cookie is cleared", async () => {
    const res = await request("/api/v1/session", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^hh_session=; Max-Age=0; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
  });

  it("a wrong token, the admin token and bad bodies are refused, and no cookie is set", async () => {
    const post = (body: string) => request("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body });
    const cases: [string, number, string, string[]?][] = [
      [JSON.stringify({ token: "wrong-token-0123456789abcdef0123456789" }), 401, "invalid viewer token"],
      [JSON.stringify({ token: env.ADMIN_TOKEN }), 401, "invalid viewer token"],
      [JSON.stringify({}), 400, "invalid session body", ["token: token is required"]],
      [JSON.stringify({ token: 5 }), 400, "invalid session body", ["token: token must be a string"]],
      [JSON.stringify({ token: "" }), 400, "invalid session body", ["token: token must not be empty"]],
      [JSON.stringify({ token: VIEWER_TOKEN, remember: true }), 400, "invalid session body", ['Unrecognized key: "remember"']],
      ["not json", 400, "body is not valid JSON"],
      [JSON.stringify({ token: "x".repeat(5000) }), 413, "body is larger than 4096 bytes"],
    ];
    for (const [body, status, error, issues] of cases) {
      const res = await post(body);
      expect(res.headers.get("set-cookie"), body).toBeNull();
      await expectError(res, status, error, issues);
    }
  });

  it("a tampered cookie, an expired one and one signed before VIEWER_TOKEN rotated are refused", async () => {
    const cookie = await signIn();
    const [, value] = cookie.split("=");
    const [v, exp, sig] = value!.split(".");
    await expectError(await request(locationPath(LOCATION), { headers: { cookie: `hh_session=${v}.${Number(exp) + 1}.${sig}` } }), 401, "invalid session");
    await expectError(await request(locationPath(LOCATION), { headers: { cookie: "hh_session=nonsense" } }), 401, "invalid session");
    const rotated = { ...env, VIEWER_TOKEN: "rotated-viewer-token-0123456789abcdef" } as Env;
    await expectError(await request(locationPath(LOCATION), { headers: { cookie } }, rotated), 401, "invalid session");
  });

  it("503 without VIEWER_TOKEN: there is nothing to sign in to", async () => {
    await expectError(await api("/api/v1/session", { method: "POST", body: JSON.stringify({ token: VIEWER_TOKEN }) }), 503, "VIEWER_TOKEN is not configured");
  });
});

describe("share links: POST /api/v1/locations/{location}/share", () => {
  it("answers url, key and expiresAt; the url opens the dashboard on the location with the key", async () => {
    const before = Date.now();
    const link = await share("MTC", 600);
    const url = new URL(link.url);
    expect(url.origin).toBe(ORIGIN);
    expect(url.pathname).toBe("/locations/MTC");
    expect(url.searchParams.get("key")).toBe(link.key);
    expect(Date.parse(link.expiresAt)).toBeGreaterThanOrEqual(before + 600_000);
    expect(Date.parse(link.expiresAt)).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  it("needs the admin token: none, the viewer token and a share key are 401", async () => {
    const key = (await share(LOCATION)).key;
    for (const [authorization, error] of [[undefined, "missing bearer token"], [`Bearer ${VIEWER_TOKEN}`, "invalid bearer token"], [`Bearer ${key}`, "invalid bearer token"]] as const) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      await expectError(await request(locationPath(LOCATION, "/share"), { method: "POST", headers, body: JSON.stringify({ expiresInSeconds: 60 }) }), 401, error);
    }
  });

  it("bad bodies and names are 400 with reasons", async () => {
    const post = (location: string, body: string) =>
      request(locationPath(location, "/share"), { method: "POST", headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, body });
    const cases: [string, string, string, string[]][] = [
      ["MTC", "{}", "invalid share body", ["expiresInSeconds: expiresInSeconds is required"]],
      ["MTC", '{"expiresInSeconds":"60"}', "invalid share body", ["expiresInSeconds: expiresInSeconds must be a number"]],
      ["MTC", '{"expiresInSeconds":1.5}', "invalid share body", ["expiresInSeconds: expiresInSeconds must be an integer"]],
      ["MTC", '{"expiresInSeconds":59}', "invalid share body", ["expiresInSeconds: expiresInSeconds must be at least 60"]],
      ["MTC", '{"expiresInSeconds":2592001}', "invalid share body", ["expiresInSeconds: expiresInSeconds must be at most 2592000 (30 days)"]],
      ["MTC", '{"expiresInSeconds":60,"location":"x"}', "invalid share body", ['Unrecognized key: "location"']],
      ["MТC", '{"expiresInSeconds":60}', "invalid location", [
        "location mixes scripts (Latin and Cyrillic): a name that looks like another is refused; write it in one script",
      ]],
    ];
    for (const [location, body, error, issues] of cases) await expectError(await post(location, body), 400, error, issues);
  });

  it("503 without SHARE_SECRET, for making links and for reading with one", async () => {
    const key = (await share(LOCATION)).key;
    const noSecret = { ...viewerEnv, SHARE_SECRET: undefined } as Env;
    const res = await request(locationPath(LOCATION, "/share"), { method: "POST", headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, body: '{"expiresInSeconds":60}' }, noSecret);
    await expectError(res, 503, "SHARE_SECRET is not configured");
    await expectError(await request(locationPath(LOCATION) + `?key=${key}`, {}, noSecret), 503, "SHARE_SECRET is not configured");
  });
});

describe("secrets: at least 32 characters and all different, or 503 where they are needed", () => {
  it("a short VIEWER_TOKEN makes reads 503 and leaves ingest alone", async () => {
    const short = { ...env, VIEWER_TOKEN: "x".repeat(31) } as Env;
    const res = await request(locationPath(LOCATION), { headers: { authorization: `Bearer ${"x".repeat(31)}` } }, short);
    await expectError(res, 503, "VIEWER_TOKEN is too short", [
      "VIEWER_TOKEN (the token that unlocks reads and live sockets) must be at least 32 characters; generate one with `openssl rand -base64 33`",
    ]);
    const ingest = await request("/api/v1/ingest", { method: "POST", headers: { authorization: `Bearer ${env.INGEST_TOKEN}` }, body: JSON.stringify({ events: [reading(LOCATION)] }) }, short);
    expect(ingest.status).toBe(200);
  });

  it("a short INGEST_TOKEN, ADMIN_TOKEN or SHARE_SECRET: the routes that need it answer 503", async () => {
    const ingest = await request("/api/v1/ingest", { method: "POST", headers: { authorization: "Bearer short" }, body: "{}" }, { ...env, INGEST_TOKEN: "short" } as Env);
    await expectError(ingest, 503, "INGEST_TOKEN is too short");
    const stats = await request(locationPath(LOCATION, "/stats"), { headers: { authorization: "Bearer short" } }, { ...env, ADMIN_TOKEN: "short" } as Env);
    await expectError(stats, 503, "ADMIN_TOKEN is too short");
    const link = await request(locationPath(LOCATION, "/share"), { method: "POST", headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` }, body: '{"expiresInSeconds":60}' }, { ...env, SHARE_SECRET: "short" } as Env);
    await expectError(link, 503, "SHARE_SECRET is too short");
  });

  it("two equal secrets: both sides answer 503 naming the twin", async () => {
    const same = { ...env, VIEWER_TOKEN: env.ADMIN_TOKEN } as Env;
    await expectError(await request(locationPath(LOCATION), { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }, same), 503, "VIEWER_TOKEN is the same as ADMIN_TOKEN");
    await expectError(await request(locationPath(LOCATION, "/stats"), { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }, same), 503, "ADMIN_TOKEN is the same as VIEWER_TOKEN");
    const sharedIngest = { ...env, SHARE_SECRET: env.INGEST_TOKEN } as Env;
    await expectError(await request("/api/v1/ingest", { method: "POST", headers: { authorization: `Bearer ${env.INGEST_TOKEN}` }, body: "{}" }, sharedIngest), 503, "INGEST_TOKEN is the same as SHARE_SECRET");
  });
});

describe("tokenMatches: SHA-256 digests compared with crypto.subtle.timingSafeEqual", () => {
  it("equal only for the same string, whatever the lengths", async () => {
    const secret = "s".repeat(40);
    expect(await tokenMatches(secret, secret)).toBe(true);
    for (const other of ["", "s", "s".repeat(39), "s".repeat(41), `${"s".repeat(39)}t`, "S".repeat(40)]) expect(await tokenMatches(other, secret)).toBe(false);
  });
});
