import { existsSync, readFileSync, readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shareResponse } from "../../protocol";
import { CONTENT_SECURITY_POLICY } from "../../worker/security-policy";
import { launchBrowser, watchPage } from "../support/browser";
import { startLocalWorker, type LocalWorker } from "../support/local-worker";

/**
 * The hardened edge for real, under `wrangler dev` with VIEWER_TOKEN set:
 * headers on the page, an asset and the API (assets are served before the
 * worker runs, from `_headers`), the built page has no inline script and
 * breaks no policy in Chromium, sign-in and a share link in a fresh browser
 * context, and a foreign Origin refused on the socket.
 */
const ROOT = resolve(import.meta.dirname, "../..");
const DIST = resolve(ROOT, "dist/dashboard");
const VIEWER_TOKEN = "edge-viewer-token-0123456789abcdefgh";
const LOCATION = "MTC";

let worker: LocalWorker;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(resolve(DIST, "_headers"))) throw new Error("dist/dashboard is not built: run `npm run build:dashboard`");
  [worker, browser] = await Promise.all([
    startLocalWorker({ vars: { VIEWER_TOKEN, SHARE_SECRET: "edge-share-secret-0123456789abcdefgh" } }),
    launchBrowser(),
  ]);
  const res = await fetch(`${worker.url}/api/v1/ingest`, {
    method: "POST",
    headers: { authorization: `Bearer ${worker.ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [{ id: "edge-1", deviceId: "dev-1", location: LOCATION, occurredAt: new Date().toISOString(), vote: 1 }] }),
  });
  expect(res.status, await res.text()).toBe(200);
});

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

function expectSecurityHeaders(res: Response, what: string): void {
  expect(res.headers.get("content-security-policy"), what).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
}

/** A WebSocket handshake with any headers (browsers' WebSocket cannot set Origin); resolves with the status. */
function upgradeStatus(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = httpRequest(`${worker.url}${path}`, {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on("response", (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("security headers through wrangler dev", () => {
  it("on /, a client-side route, an asset and API answers", async () => {
    const asset = readdirSync(resolve(DIST, "assets")).find((f) => f.endsWith(".js"))!;
    for (const path of ["/", "/locations/MTC", `/assets/${asset}`, "/api/v1/health", "/api/v1/locations", "/api/v1/nope"]) {
      const res = await fetch(`${worker.url}${path}`);
      expectSecurityHeaders(res, `${path} (${res.status})`);
      await res.body?.cancel();
    }
  });

  it("the built page has no inline script, and _headers is not served as a file", async () => {
    const html = readFileSync(resolve(DIST, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(body!.trim()).toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+="/); // no inline event handlers either
    const res = await fetch(`${worker.url}/_headers`);
    expect(await res.text()).not.toContain("Content-Security-Policy");
  });
});

describe("live sockets check Origin (through wrangler dev)", () => {
  const live = `/api/v1/locations/${LOCATION}/live`;
  const auth = { authorization: `Bearer ${VIEWER_TOKEN}` };

  it("same origin and no Origin with a valid token: 101; a foreign Origin: 403", async () => {
    expect(await upgradeStatus(live, { ...auth, origin: worker.url })).toBe(101);
    expect(await upgradeStatus(live, auth)).toBe(101);
    expect(await upgradeStatus(live, { ...auth, origin: "https://evil.example" })).toBe(403);
  });

  it("no token: 401", async () => {
    expect(await upgradeStatus(live, {})).toBe(401);
  });
});

describe("the dashboard in Chromium with VIEWER_TOKEN set", () => {
  /** Records every CSP violation the page reports (the listener is added by the browser, not an inline script). */
  async function watchPolicy(page: Page): Promise<() => Promise<string[]>> {
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    return () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
  }

  it("shows a sign-in form, signs in with the viewer token, goes live, and breaks no policy", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = watchPage(page);
    const violations = await watchPolicy(page);
    await page.goto(`${worker.url}/locations/${LOCATION}`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });

    await page.getByLabel("Viewer token").fill("not-the-token-0123456789abcdefghij");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "That token is not the viewer token." }).waitFor();

    await page.getByLabel("Viewer token").fill(VIEWER_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('.page-head [data-connection="live"]').waitFor({ timeout: 15_000 });
    await page.getByText("Signed in.").waitFor();
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite])).toEqual([["hh_session", true, true, "Strict"]]);
    expect(cookies[0]!.value).not.toContain(VIEWER_TOKEN);

    expect(await violations()).toEqual([]);
    // The only errors: the reads refused before signing in (401) and the wrong token.
    expect(seen.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 10_000 });
    await context.close();
  });

  it("a share link opens the location in a fresh (private) context without signing in; other locations stay closed", async () => {
    const res = await fetch(`${worker.url}/api/v1/locations/${LOCATION}/share`, {
      method: "POST",
      headers: { authorization: `Bearer ${worker.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresInSeconds: 600 }),
    });
    expect(res.status).toBe(200);
    const link = shareResponse.parse(await res.json());

    const context = await browser.newContext();
    const page = await context.newPage();
    const violations = await watchPolicy(page);
    await page.goto(link.url);
    await page.locator('.page-head [data-connection="live"]').waitFor({ timeout: 15_000 });
    await page.getByText("A read-only shared view.").waitFor();
    expect(await page.getByRole("heading", { name: "Sign in" }).count()).toBe(0);
    expect(await violations()).toEqual([]);
    expect(await context.cookies()).toEqual([]);

    const other = await fetch(`${worker.url}/api/v1/locations/elsewhere?key=${encodeURIComponent(link.key)}`);
    expect(other.status).toBe(403);
    await context.close();
  });
});
