import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestResponse } from "../../../protocol";
import { freePort } from "../../support/free-port";
import { WorkerClient, contractBody, describeAnswer, type HttpAnswer } from "../../../bridge/worker-client";

/** The bridge's one HTTP client against a local server answering what each path names. */
describe("worker client", () => {
  let base = "";
  const seen: { method: string; auth: string | undefined; type: string | undefined; body: string }[] = [];
  const answers: Record<string, (res: ServerResponse) => void> = {
    "/ok": (res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"accepted":1,"duplicates":0,"rejected":[]}'),
    "/contract-error": (res) => void res.writeHead(429, { "content-type": "application/json", "retry-after": "3" }).end('{"error":"slow down","issues":["a","b"]}'),
    "/html": (res) => void res.writeHead(400, { "content-type": "text/html" }).end("<html>nope</html>"),
    "/other-json": (res) => void res.writeHead(413, { "content-type": "application/json" }).end('{"message":"too large"}'),
    "/slow": (res) => void setTimeout(() => res.writeHead(200).end("{}"), 500),
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method!, auth: req.headers.authorization, type: req.headers["content-type"], body: Buffer.concat(chunks).toString() });
    answers[req.url!]!(res);
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new WorkerClient({ token: "sekret", timeoutMs: 200 });

  it("sends the bearer token and a JSON body; reads a contract body", async () => {
    const answer = (await client.request("POST", `${base}/ok`, '{"events":[]}')) as HttpAnswer;
    expect(seen.at(-1)).toEqual({ method: "POST", auth: "Bearer sekret", type: "application/json", body: '{"events":[]}' });
    expect(answer).toMatchObject({ kind: "http", status: 200, error: undefined });
    // This answer predates `conflicts`: the contract reads it as none.
    expect(contractBody(answer, ingestResponse)).toEqual({ accepted: 1, duplicates: 0, rejected: [], conflicts: [] });
    await client.request("GET", `${base}/ok`);
    expect(seen.at(-1)).toMatchObject({ method: "GET", type: undefined, body: "" });
  });

  it("tells the worker's error body from anybody else's, and reads Retry-After", async () => {
    const mine = (await client.request("POST", `${base}/contract-error`, "{}")) as HttpAnswer;
    expect(mine).toMatchObject({ status: 429, error: { error: "slow down", issues: ["a", "b"] }, retryAfterMs: 3000 });
    expect(describeAnswer(mine)).toBe("HTTP 429: slow down; a; b");
    const html = (await client.request("POST", `${base}/html`, "{}")) as HttpAnswer;
    expect(html).toMatchObject({ status: 400, error: undefined, json: undefined, retryAfterMs: undefined });
    expect(describeAnswer(html)).toBe("HTTP 400 (not the worker's error body): <html>nope</html>");
    const other = (await client.request("POST", `${base}/other-json`, "{}")) as HttpAnswer;
    expect(other).toMatchObject({ status: 413, error: undefined, json: { message: "too large" } });
    expect(contractBody(other, ingestResponse)).toBeUndefined();
  });

  it("answers a timeout or no listener as a network failure, never throwing", async () => {
    const slow = await client.request("GET", `${base}/slow`);
    expect(slow).toEqual({ kind: "network", reason: "timeout", aborted: false });
    expect(describeAnswer(slow)).toBe("network: timeout");
    const refused = await client.request("GET", `http://127.0.0.1:${await freePort()}/`);
    expect(refused).toMatchObject({ kind: "network", reason: expect.stringContaining("ECONNREFUSED") });
    const stopping = new AbortController();
    stopping.abort();
    expect(await new WorkerClient({ token: "t", timeoutMs: 1000, signal: stopping.signal }).request("GET", `${base}/ok`)).toMatchObject({ kind: "network", aborted: true });
  });
});
