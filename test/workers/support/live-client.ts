import { expect } from "vitest";
import { PING, PONG, liveFrame, type LiveFrame } from "../../../protocol";
import { api, locationPath } from "./api";

const WAIT_MS = 5_000;

interface Closed {
  code: number;
  reason: string;
}

/**
 * A real WebSocket client of a location's live route. Messages are queued as
 * they arrive so a test reads them in order with `next()`, and `flush()`
 * proves no unread frame is pending (the server answers a ping after every
 * frame it has already sent on the same socket).
 */
export class LiveClient {
  private readonly queue: string[] = [];
  private waiter: (() => void) | null = null;
  closed: Closed | null = null;

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

  static connect(location: string, query = ""): Promise<LiveClient> {
    return LiveClient.open(locationPath(location, `/live${query}`));
  }

  /** A socket on any live route (the fleet's too: read it with `nextText`/`drainTexts`). */
  static async open(path: string): Promise<LiveClient> {
    const res = await api(path, { headers: { Upgrade: "websocket" } });
    expect(res.status).toBe(101);
    expect(res.webSocket).toBeTruthy();
    return new LiveClient(res.webSocket!);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async until(ready: () => boolean, what: string, waitMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + waitMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  /** The next raw text message (waiting at most `waitMs`). */
  async nextText(waitMs?: number): Promise<string> {
    await this.until(() => this.queue.length > 0 || this.closed !== null, "a message", waitMs);
    const text = this.queue.shift();
    if (text === undefined) throw new Error(`socket closed (${this.closed?.code}) before a message arrived`);
    return text;
  }

  /** The next frame, parsed with the contract's schema. */
  async next(waitMs?: number): Promise<LiveFrame> {
    return liveFrame.parse(JSON.parse(await this.nextText(waitMs)));
  }

  async nextOfType<T extends LiveFrame["type"]>(type: T, waitMs?: number): Promise<Extract<LiveFrame, { type: T }>> {
    const frame = await this.next(waitMs);
    expect(frame.type).toBe(type);
    return frame as Extract<LiveFrame, { type: T }>;
  }

  /** Sends a ping and returns every message that arrived before the pong. */
  async drainTexts(): Promise<string[]> {
    this.ws.send(PING);
    const texts: string[] = [];
    for (;;) {
      const text = await this.nextText();
      if (text === PONG) return texts;
      texts.push(text);
    }
  }

  /** Sends a ping and returns every frame that arrived before the pong. */
  async drain(): Promise<LiveFrame[]> {
    return (await this.drainTexts()).map((text) => liveFrame.parse(JSON.parse(text)));
  }

  /** Asserts nothing but the pong is pending. */
  async expectQuiet(): Promise<void> {
    expect(await this.drain()).toEqual([]);
  }

  async waitClosed(): Promise<Closed> {
    await this.until(() => this.closed !== null, "the close handshake");
    return this.closed!;
  }

  close(code?: number, reason?: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }
}
