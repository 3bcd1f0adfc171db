import {
  COMMAND_HUB_LIMITS,
  PING,
  PONG,
  deviceboundTopic,
  formatIssues,
  hubFrame,
  type BridgeFrame,
  type HubCommand,
  type HubFrame,
} from "../../protocol";
import { backoffDelay, sleep, type BackoffOptions } from "../backoff";
import type { BridgeMetrics } from "../bridge-metrics";
import type { Logger } from "../log";
import { describeError } from "../sender";
import type { CommandStore, Delivery } from "./command-store";

export interface CommandRelayOptions {
  /** The worker's commands socket, `…/api/v1/commands/live` (http(s) is taken as ws(s)). */
  commandsUrl: string;
  token: string;
  /** Who this bridge is to the hub (its MQTT client id): the hub hands each command to one bridge. */
  bridge: string;
  /** A ping this often; no answer within as long again: the connection is dead, reconnect. */
  keepaliveMs: number;
  /** Opening the socket and the hub's hello must take at most this long. */
  timeoutMs: number;
  retry: BackoffOptions;
}

/** Publishes a command QoS 1; resolves once the broker acknowledged it (PUBACK). */
export type PublishCommand = (topic: string, payload: string) => Promise<void>;

/** The part of a WebSocket the relay uses (the global WebSocket; tests pass a scripted one). */
export interface HubSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "close", listener: (e: { code: number; reason: string }) => void): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
}

/**
 * Opens the commands socket with the token as `Authorization: Bearer`. Node's
 * global WebSocket (undici) takes request headers as a second-argument option
 * beyond the browser API, so no WebSocket package is needed.
 */
export const openHubSocket = (url: string, token: string): HubSocket =>
  new WebSocket(url, { headers: { authorization: `Bearer ${token}` } } as unknown as string[]); // undici's WebSocketInit; the DOM typing knows only protocols

export type CommandMetrics = Pick<
  BridgeMetrics,
  "commandsPublished" | "commandsSkipped" | "commandReports" | "commandFeedFailures" | "commandEpochChanges"
>;

/**
 * On stop, how long a publish already sent may still wait for its PUBACK, so
 * a normal shutdown records it instead of leaving it to be published again.
 */
const STOP_PUBACK_GRACE_MS = 2_000;

class Stopped extends Error {
  constructor() {
    super("stopped");
  }
}

/**
 * Holds the bridge's one socket to the worker's commands hub and delivers
 * each command it is handed to its device: publish QoS 1 to
 * `devices/{id}/messages/devicebound/%24.mid={commandId}`, on the broker's
 * PUBACK record it locally (and move the cursor past it), then report it on
 * the same socket; once the hub says it recorded the report, forget it.
 *
 * On every (re)connect: the hub says hello with its epoch; the relay resumes
 * from its saved cursor if the epoch is the saved one, from 0 of the new one
 * otherwise (the worker's state was wiped), and reports what it recorded and
 * the hub has not acknowledged. A command handed out again is found in the
 * local record: reported, not published again. The one window where a
 * command can go out twice is between the broker's PUBACK and the local
 * record (a crash there, or a stop while the broker takes longer than
 * STOP_PUBACK_GRACE_MS to acknowledge); devices can drop such a repeat by the
 * `$.mid` in the topic.
 *
 * Idle, it costs one ping per `keepaliveMs`, which the worker's runtime
 * answers without waking the hub. One command at a time: each waits for the
 * one before it, so a device gets its commands in the order they were issued.
 */
export class CommandRelay {
  private readonly stopController = new AbortController();
  private loop: Promise<void> | null = null;
  private consecutiveFailures = 0;
  /** The error last logged as a warning in the current run of failures (the same one again goes to debug). */
  private warned: string | null = null;
  /** Set while a socket is open and the hub answered its resume. */
  role: "active" | "standby" | null = null;
  epoch: string | null = null;
  lastCommandAt: number | null = null;
  lastError: string | null = null;
  lastErrorAt: number | null = null;

  constructor(
    private readonly store: CommandStore,
    private readonly publish: PublishCommand,
    private readonly options: CommandRelayOptions,
    private readonly metrics: CommandMetrics,
    private readonly log: Logger,
    private readonly openSocket: (url: string, token: string) => HubSocket = openHubSocket,
  ) {}

  /** Failed connections or sessions since the last one the hub answered. */
  get failures(): number {
    return this.consecutiveFailures;
  }

  get connected(): boolean {
    return this.role !== null;
  }

  get pendingReports(): number {
    return this.store.pendingCount;
  }

  get cursor(): number {
    return this.store.position.cursor;
  }

  start(): void {
    if (this.stopController.signal.aborted) return;
    this.loop ??= this.run();
  }

  /** Closes the socket and ends the loop; a publish in flight gets a short grace for its PUBACK. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      try {
        await this.session();
      } catch (e) {
        if (signal.aborted || e instanceof Stopped) break;
        await sleep(this.failed(e as Error), signal);
      }
    }
  }

  /** Counts and logs a failed connection or session; returns how long to wait before the next. */
  private failed(error: Error): number {
    const wait = backoffDelay(this.consecutiveFailures, this.options.retry);
    this.consecutiveFailures++;
    this.metrics.commandFeedFailures.inc();
    // Warn when something new goes wrong; the same error again (a long outage) only at debug.
    const level = error.message === this.warned ? "debug" : "warn";
    this.warned = error.message;
    this.lastError = error.message;
    this.lastErrorAt = Date.now();
    this.log[level]("commands socket failed; reconnecting", { error: error.message, attempt: this.consecutiveFailures, retryInMs: wait });
    return wait;
  }

  /**
   * One connection, from open to close. Frames are handled one after the
   * other (a publish awaits its PUBACK before the next frame is read). Rejects
   * with why it ended; a stop ends it with Stopped.
   */
  private session(): Promise<never> {
    const url = this.options.commandsUrl.replace(/^http/, "ws");
    const signal = this.stopController.signal;
    return new Promise<never>((_, reject) => {
      const ws = this.openSocket(url, this.options.token);
      let opened = false;
      let settled = false;
      let lastHeard = Date.now();
      let chain: Promise<void> = Promise.resolve();
      const end = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(helloTimer);
        clearInterval(keepalive);
        signal.removeEventListener("abort", onStop);
        this.role = null;
        try {
          ws.close(error instanceof Stopped ? 1000 : 4000, error instanceof Stopped ? "bridge stopping" : "bridge reconnecting");
        } catch {
          // Not open yet, or already closed.
        }
        // Whatever frame is being handled finishes (or gives up on its PUBACK) before the session ends.
        void chain.then(() => reject(error));
      };
      const onStop = () => end(new Stopped());
      signal.addEventListener("abort", onStop, { once: true });
      const helloTimer = setTimeout(() => end(new Error(`no hello from ${url} within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      const keepalive = setInterval(() => {
        if (!opened) return;
        if (Date.now() - lastHeard > 2 * this.options.keepaliveMs) return end(new Error(`no answer from ${url} for ${2 * this.options.keepaliveMs} ms`));
        ws.send(PING);
      }, this.options.keepaliveMs);

      ws.addEventListener("open", () => (opened = true));
      // A failed open fires "error", and "close" not always: either one asks why, once.
      let diagnosing = false;
      const failedToOpen = () => {
        if (opened || settled || diagnosing) return;
        diagnosing = true;
        void this.diagnose(url).then(end);
      };
      ws.addEventListener("error", failedToOpen);
      ws.addEventListener("close", (e) => {
        if (opened) end(new Error(`the commands socket closed: ${e.code} ${e.reason || "(no reason)"}`));
        else failedToOpen();
      });
      ws.addEventListener("message", (e) => {
        lastHeard = Date.now();
        if (e.data === PONG) return;
        chain = chain
          .then(() => this.handle(ws, e.data, () => clearTimeout(helloTimer)))
          .catch((error: unknown) => end(error as Error));
      });
    });
  }

  private async handle(ws: HubSocket, data: unknown, helloArrived: () => void): Promise<void> {
    if (this.stopController.signal.aborted) throw new Stopped();
    const frame = this.parse(data);
    switch (frame.type) {
      case "hello": {
        helloArrived();
        const saved = this.store.position.epoch;
        const dropped = await this.store.adopt(frame.epoch);
        if (saved !== null && dropped !== null) {
          this.metrics.commandEpochChanges.inc();
          this.log.warn("the commands hub has a new epoch (the worker's state was wiped): starting over from its start", {
            epoch: frame.epoch,
            droppedUnreportedDeliveries: dropped,
          });
        }
        this.epoch = frame.epoch;
        send(ws, { type: "resume", bridge: this.options.bridge, epoch: frame.epoch, cursor: this.store.position.cursor });
        return;
      }
      case "resumed": {
        this.role = frame.role;
        if (this.consecutiveFailures > 0) this.log.info("commands socket recovered", { afterFailures: this.consecutiveFailures });
        this.consecutiveFailures = 0;
        this.warned = null;
        this.log.info(frame.role === "active" ? "commands socket open: this bridge delivers the fleet's commands" : "commands socket open: another bridge delivers the commands; this one stands by", {
          epoch: frame.epoch,
          cursor: this.store.position.cursor,
        });
        // What was recorded here and not acknowledged (a crash, a dropped socket) is reported first.
        sendDeliveries(ws, this.store.pendingReports(frame.epoch));
        return;
      }
      case "commands": {
        const deliveries: Delivery[] = [];
        for (const c of frame.commands) deliveries.push(await this.deliver(frame.epoch, c));
        sendDeliveries(ws, deliveries);
        return;
      }
      case "recorded": {
        const epoch = this.epoch!;
        await this.store.reported(epoch, [...frame.recorded, ...frame.unknown]);
        this.metrics.commandReports.inc(frame.recorded.length, { result: "recorded" });
        this.metrics.commandReports.inc(frame.unknown.length, { result: "unknown" });
        if (frame.unknown.length > 0) this.log.warn("the commands hub knows no such commands; not reporting them again", { unknown: frame.unknown });
        return;
      }
    }
  }

  /** A frame from the hub, checked against the contract (a bad one ends the session: the next one starts clean). */
  private parse(data: unknown): HubFrame {
    if (typeof data !== "string") throw new Error("the commands hub sent a binary frame");
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new Error(`the commands hub sent a frame that is not JSON: ${data.slice(0, 200)}`);
    }
    const parsed = hubFrame.safeParse(json);
    if (!parsed.success) throw new Error(`the commands hub sent a frame that does not match the contract: ${formatIssues(parsed.error).slice(0, 3).join("; ")}`);
    return parsed.data;
  }

  /** Publishes and records one command, or finds it recorded already; returns its delivery to report. */
  private async deliver(epoch: string, c: HubCommand): Promise<Delivery> {
    const recorded = this.store.deliveredAt(epoch, c.location, c.id);
    if (recorded !== null) {
      this.metrics.commandsSkipped.inc();
      this.log.info("command already published (its report was not acknowledged); reporting it, not publishing it again", {
        location: c.location,
        deviceId: c.deviceId,
        commandId: c.id,
      });
      return { location: c.location, id: c.id, deliveredAt: recorded };
    }
    const topic = deviceboundTopic(c.deviceId, c.id);
    await this.published(this.publish(topic, c.payload));
    const delivery = { location: c.location, id: c.id, deliveredAt: new Date().toISOString() };
    await this.store.recordDelivery(epoch, delivery, c.cursor);
    this.metrics.commandsPublished.inc();
    this.lastCommandAt = Date.now();
    this.log.info("command delivered", {
      location: c.location,
      deviceId: c.deviceId,
      commandId: c.id,
      payload: c.payload,
      ruleId: c.ruleId,
      issuedAt: c.issuedAt,
      deliveredAt: delivery.deliveredAt,
      topic,
    });
    return delivery;
  }

  /** Waits for the PUBACK; once stopping, only for a short grace (then the outcome is unknown and nothing is recorded). */
  private published(publish: Promise<void>): Promise<void> {
    const stop = this.stopController.signal;
    return new Promise<void>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const onStop = () => (grace = setTimeout(() => reject(new Stopped()), STOP_PUBACK_GRACE_MS));
      const settle = () => {
        stop.removeEventListener("abort", onStop);
        clearTimeout(grace);
      };
      if (stop.aborted) onStop();
      else stop.addEventListener("abort", onStop, { once: true });
      publish.then(
        () => (settle(), resolve()),
        (error: unknown) => (settle(), reject(error)),
      );
    });
  }

  /**
   * Why the socket did not open: the WebSocket API hides the HTTP status, so
   * one plain request to the same URL asks (the worker checks the token
   * before the upgrade). Only on a failure, never while idle.
   */
  private async diagnose(url: string): Promise<Error> {
    const httpUrl = url.replace(/^ws/, "http");
    let res: Response;
    try {
      res = await fetch(httpUrl, { headers: { authorization: `Bearer ${this.options.token}` }, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      return new Error(`connect ${url}: ${err.cause?.code ?? err.name}: ${err.cause?.message ?? err.message}`);
    }
    const reason = describeError(await res.text().catch(() => "")).join("; ") || "(no body)";
    if (res.status === 401 || res.status === 403) {
      this.log.error("the worker refused the token of the commands socket; check INGEST_TOKEN", { status: res.status, url });
    } else if (res.status === 404 || res.status === 405) {
      this.log.error("no commands socket at this URL; check COMMANDS_URL (or INGEST_URL it is derived from)", { status: res.status, url });
    }
    return new Error(`connect ${url}: ${res.status === 426 ? "the upgrade failed (the route answers 426 to a plain request)" : `${res.status} ${reason}`}`);
  }
}

const send = (ws: HubSocket, frame: BridgeFrame): void => ws.send(JSON.stringify(frame));

/** `delivered` frames of at most the contract's 1000 deliveries each. */
function sendDeliveries(ws: HubSocket, deliveries: readonly Delivery[]): void {
  for (let i = 0; i < deliveries.length; i += COMMAND_HUB_LIMITS.maxDeliveries) {
    send(ws, { type: "delivered", deliveries: deliveries.slice(i, i + COMMAND_HUB_LIMITS.maxDeliveries) });
  }
}
