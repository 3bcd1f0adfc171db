import { afterEach, describe, expect, it } from "vitest";
import { acknowledgeAlert, forgetToken, rememberedToken } from "../../../dashboard/src/lib/ack";

/**
 * The dashboard's acknowledgement call: what it sends (admin token as a
 * bearer, the comment or an empty body) and what it makes of each answer.
 * `send` records the request and answers as the worker does (the route itself
 * is tested against the real worker in test/workers/notifications.test.ts).
 */
const TOKEN = "admin-token-for-the-dashboard-test-0123456789";
type Sent = { url: string; init: RequestInit };
const answering = (status: number, body: unknown) => {
  const sent: Sent[] = [];
  const send = (async (url: string, init: RequestInit) => {
    sent.push({ url, init });
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }) as unknown as typeof fetch;
  return { sent, send };
};
const ack = { location: "Main Hall", alertId: "~alert-7", acknowledgement: { seq: 9, at: "2026-12-03T12:00:00.000Z", comment: "on it" } };

afterEach(forgetToken);

describe("acknowledgeAlert", () => {
  it("POSTs the trimmed comment with the admin token, reads the answer, and keeps the token in memory", async () => {
    const { sent, send } = answering(200, ack);
    expect(rememberedToken()).toBeNull();
    await expect(acknowledgeAlert("Main Hall", "~alert-7", "  on it ", TOKEN, send)).resolves.toEqual(ack);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe("/api/v1/locations/Main%20Hall/alerts/~alert-7/ack");
    expect(sent[0]!.init.method).toBe("POST");
    expect(sent[0]!.init.headers).toMatchObject({ authorization: `Bearer ${TOKEN}` });
    expect(JSON.parse(sent[0]!.init.body as string)).toEqual({ comment: "on it" });
    expect(rememberedToken()).toBe(TOKEN);
  });

  it("sends an empty object without a comment", async () => {
    const { sent, send } = answering(200, { ...ack, acknowledgement: { ...ack.acknowledgement, comment: null } });
    await acknowledgeAlert("Main Hall", "~alert-7", "   ", TOKEN, send);
    expect(JSON.parse(sent[0]!.init.body as string)).toEqual({});
  });

  it("a 401 forgets the token and says to check it", async () => {
    await acknowledgeAlert("Main Hall", "~alert-7", "", TOKEN, answering(200, ack).send);
    const { send } = answering(401, { error: "invalid bearer token", issues: [] });
    await expect(acknowledgeAlert("Main Hall", "~alert-7", "", "wrong", send)).rejects.toThrow("not acknowledged: invalid bearer token (check the admin token)");
    expect(rememberedToken()).toBeNull();
  });

  it("a 409 or 400 comes back with the server's reasons, token not kept", async () => {
    await expect(acknowledgeAlert("Main Hall", "~alert-7", "", TOKEN, answering(409, { error: "alert already acknowledged", issues: [] }).send)).rejects.toThrow(
      "not acknowledged: alert already acknowledged",
    );
    await expect(
      acknowledgeAlert("Main Hall", "~alert-7", "x", TOKEN, answering(400, { error: "invalid acknowledgement", issues: ["comment: comment must be at most 500 characters"] }).send),
    ).rejects.toThrow("not acknowledged: invalid acknowledgement: comment: comment must be at most 500 characters");
    expect(rememberedToken()).toBeNull();
  });

  it("refuses an answer that does not fit the contract", async () => {
    await expect(acknowledgeAlert("Main Hall", "~alert-7", "", TOKEN, answering(200, { ok: true }).send)).rejects.toThrow("unexpected answer");
  });
});
