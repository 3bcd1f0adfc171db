import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ackBody, channelsBody, formatIssues, secretHint } from "../../../protocol";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const good = { id: "ops", type: "webhook", url: "https://hooks.example.org/hh", secret, events: ["alert-raised", "alert-cleared"] };
const issuesOf = (body: unknown): string[] => {
  const r = channelsBody.safeParse(body);
  return r.success ? [] : formatIssues(r.error);
};

describe("notification channels", () => {
  it("accept http(s) webhooks with a whsec_ secret, known events and valid locations", () => {
    expect(issuesOf({ channels: [good, { ...good, id: "local", url: "http://127.0.0.1:8790/", events: ["digest"], locations: ["MTC", "Zürich"] }] })).toEqual([]);
    expect(issuesOf({ channels: [] })).toEqual([]);
  });

  it("refuse a URL that is not http(s), or not a URL, or that carries credentials", () => {
    expect(issuesOf({ channels: [{ ...good, url: "ftp://example.org/x" }] })).toEqual(["channels.0.url: url must be http(s), not ftp"]);
    expect(issuesOf({ channels: [{ ...good, url: "javascript:alert(1)" }] })).toEqual(["channels.0.url: url must be http(s), not javascript"]);
    expect(issuesOf({ channels: [{ ...good, url: "hooks.example.org" }] })).toEqual(["channels.0.url: url must be an absolute URL like https://hooks.example.org/happy-hub"]);
    expect(issuesOf({ channels: [{ ...good, url: "https://u:p@example.org/" }] })).toEqual(["channels.0.url: url must not hold a user name or password (the signature authenticates)"]);
  });

  it("refuse a secret that is not whsec_<base64> of at least 24 bytes", () => {
    expect(issuesOf({ channels: [{ ...good, secret: "hunter2" }] })).toEqual(['channels.0.secret: secret must look like "whsec_<base64>"']);
    expect(issuesOf({ channels: [{ ...good, secret: "whsec_not base64!" }] })).toEqual([
      'channels.0.secret: secret: what follows "whsec_" must be standard base64 (A-Z a-z 0-9 + /, padded with =)',
    ]);
    expect(issuesOf({ channels: [{ ...good, secret: `whsec_${randomBytes(16).toString("base64")}` }] })).toEqual([
      "channels.0.secret: secret must hold at least 24 bytes (it holds 16); e.g. whsec_ + base64 of 32 random bytes",
    ]);
  });

  it("refuse duplicate ids, unknown or repeated events, bad locations, unknown fields", () => {
    expect(issuesOf({ channels: [good, good] })).toEqual(['channels.1.id: duplicate channel id "ops"']);
    expect(issuesOf({ channels: [{ ...good, events: ["alert-raised", "sms"] }] })).toEqual(['channels.0.events.1: events may be "alert-raised", "alert-cleared" or "digest"']);
    expect(issuesOf({ channels: [{ ...good, events: ["digest", "digest"] }] })).toEqual(['channels.0.events.1: "digest" is listed twice']);
    expect(issuesOf({ channels: [{ ...good, events: [] }] })).toEqual(["channels.0.events: events must list at least one event"]);
    expect(issuesOf({ channels: [{ ...good, locations: ["ok", "bad/name"] }] })[0]).toMatch(/^channels\.0\.locations\.1: location may hold only/);
    expect(issuesOf({ channels: [{ ...good, type: "email" }] })).toEqual(['channels.0.type: type must be "webhook"']);
    expect(issuesOf({ channels: [{ ...good, id: "Ops!" }] })[0]).toMatch(/^channels\.0\.id: channel id may hold only/);
    expect(issuesOf({ channels: [{ ...good, extra: 1 }] })[0]).toMatch(/extra/);
    expect(issuesOf({ hooks: [] })[0]).toMatch(/channels|hooks/);
  });

  it("hint at a secret without giving it away", () => {
    expect(secretHint(secret)).toBe(`whsec_…${secret.slice(-4)}`);
    expect(secretHint(secret)).not.toContain(secret.slice(6, -4));
  });
});

describe("acknowledgement body", () => {
  it("takes an optional comment of at most 500 characters", () => {
    expect(ackBody.parse({})).toEqual({});
    expect(ackBody.parse({ comment: "  on it  " })).toEqual({ comment: "on it" });
    expect(ackBody.safeParse({ comment: "x".repeat(501) }).success).toBe(false);
    expect(ackBody.safeParse({ comment: "" }).success).toBe(false);
    expect(ackBody.safeParse({ comment: 5 }).success).toBe(false);
    expect(ackBody.safeParse({ note: "x" }).success).toBe(false);
  });
});
