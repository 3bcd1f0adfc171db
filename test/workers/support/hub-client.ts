import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { PING, PONG, hubFrame, type BridgeFrame, type HubFrame } from "../../../protocol";
import { api } from "./api";

const WAIT_MS = 5_000;

/** A bridge's socket to the commands hub, through the worker's route; frames are queued in arrival order. */
export class HubClient {
  private readonly queue: string[] = [];
  private waiter: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.queue.push(typeof e.data === "string" ? e.data : "<binary>");
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
    ws.accept();
  }

  static async connect(token = env.INGEST_TOKEN): Promise<HubClient> {
    const res = await api("/api/v1/commands/live", { headers: { Upgrade: "websocket", authorization: `Bearer ${token}` } });
    expect(res.status, await (res.status === 101 ? Promise.resolve("") : res.clone().text())).toBe(101);
    return new HubClient(res.webSocket!);
  }

  /** Connects, reads hello, resumes as `bridge` and reads the answer; returns the client, the epoch and its role. */
  static async resumed(bridge: string, cursor = 0): Promise<{ client: HubClient; epoch: string; role: "active" | "standby" }> {
    const client = await HubClient.connect();
    const hello = await client.nextOfType("hello");
    client.send({ type: "resume", bridge, epoch: hello.epoch, cursor });
    const { role } = await client.nextOfType("resumed");
    return { client, epoch: hello.epoch, role };
  }

  /** Closes and waits until the hub has seen it (its answering close, then a moment for its handler). */
  async closeAndWait(): Promise<void> {
    this.close();
    await this.closedWith();
    await new Promise((r) => setTimeout(r, 100));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async until(ready: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  send(frame: BridgeFrame | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  async nextText(): Promise<string> {
    await this.until(() => this.queue.length > 0 || this.closed !== null, "a message");
    const text = this.queue.shift();
    if (text === undefined) throw new Error(`socket closed (${this.closed?.code} ${this.closed?.reason}) before a message arrived`);
    return text;
  }

  async next(): Promise<HubFrame> {
    return hubFrame.parse(JSON.parse(await this.nextText()));
  }

  async nextOfType<T extends HubFrame["type"]>(type: T): Promise<Extract<HubFrame, { type: T }>> {
    const frame = await this.next();
    expect(frame.type, JSON.stringify(frame)).toBe(type);
    return frame as Extract<HubFrame, { type: T }>;
  }

  /**
   * Every frame that arrived before the answer to a ping. The runtime answers
   * pings in order with what the hub already sent, so this is a sync point
   * only for frames sent before the call (a push made by an awaited ingest),
   * not for the answer to a frame this client sent just now.
   */
  async drain(): Promise<HubFrame[]> {
    this.ws.send(PING);
    const frames: HubFrame[] = [];
    for (;;) {
      const text = await this.nextText();
      if (text === PONG) return frames;
      frames.push(hubFrame.parse(JSON.parse(text)));
    }
  }

  async closedWith(): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closed !== null, "the close");
    return this.closed!;
  }

  close(): void {
    if (this.closed === null) this.ws.close(1000, "test done");
  }
}
