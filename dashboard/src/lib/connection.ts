import { PING } from "../../../protocol/live";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import type { FrameResult } from "./frames";

/** What the view shows about its socket. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "offline";

/** The part of the browser's WebSocket this uses (so tests can drive a fake one). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => unknown) | null;
  onmessage: ((event: MessageEvent) => unknown) | null;
  onclose: ((event: CloseEvent) => unknown) | null;
  onerror: ((event: Event) => unknown) | null;
}

const OPEN = 1;

/** Any live socket's frames: the first frame of a connection has type "snapshot". */
export interface TypedFrame {
  type: string;
}

export interface LiveConnectionOptions<F extends TypedFrame> {
  /** The socket URL for a connection resuming after `since` (null: a fresh one). */
  url(since: number | null): string;
  /** Where to resume from; null to start fresh. Asked before every connect. */
  resumeFrom(): number | null;
  /** Reads one message of the socket (a location's frames, or the fleet's). */
  read(data: unknown): FrameResult<F>;
  /** Each readable frame, with the `since` its socket was opened with. */
  onFrame(frame: F, resumedFrom: number | null): void;
  onState(state: ConnectionState, retryInMs: number | null): void;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  isOnline?: () => boolean;
  log?: (message: string) => void;
  backoff?: BackoffOptions;
  /** A ping goes out this often; the server answers "pong" without waking the object. */
  pingEveryMs?: number;
  /** No message at all for this long after a ping: the connection is dead (e.g. a silent network drop). */
  pongTimeoutMs?: number;
  /** Failed attempts in a row (or the browser saying it is offline) before the state reads "offline". */
  offlineAfter?: number;
}

/**
 * One live socket that stays up: it reconnects with exponential backoff and
 * jitter, resumes from the caller's cursor so nothing is missed, pings to
 * detect a dead peer, and reports its state. It never gives up; "offline" only
 * tells the viewer that retries keep failing.
 */
export class LiveConnection<F extends TypedFrame> {
  private socket: SocketLike | null = null;
  private since: number | null = null;
  private failures = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly o: Required<LiveConnectionOptions<F>>;

  constructor(options: LiveConnectionOptions<F>) {
    this.o = {
      createSocket: (url) => new WebSocket(url),
      random: Math.random,
      isOnline: () => typeof navigator === "undefined" || navigator.onLine !== false,
      log: (message) => console.warn(`[live] ${message}`),
      backoff: DEFAULT_BACKOFF,
      pingEveryMs: 25_000,
      pongTimeoutMs: 10_000,
      offlineAfter: 3,
      ...options,
    };
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.detach();
    socket?.close(1000, "view closed");
  }

  /** Skips the wait of a pending reconnect (the browser came back online, the viewer pressed retry). */
  retryNow(): void {
    if (this.stopped || this.reconnectTimer === null) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  private connect(): void {
    this.since = this.o.resumeFrom();
    const socket = this.o.createSocket(this.o.url(this.since));
    this.socket = socket;
    socket.onopen = () => this.schedulePing();
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = () => this.drop(socket);
    socket.onerror = () => this.drop(socket);
  }

  private receive(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    this.clearPongTimer(); // any message proves the peer alive
    const result = this.o.read(data);
    if (result.kind === "pong") return;
    if (result.kind === "invalid") {
      this.o.log(`ignored a frame: ${result.problems.join("; ")}`);
      return;
    }
    if (result.problems.length > 0) this.o.log(`skipped events: ${result.problems.join("; ")}`);
    if (result.frame.type === "snapshot") {
      this.failures = 0;
      this.o.onState("live", null);
    }
    this.o.onFrame(result.frame, this.since);
  }

  /** The socket closed, failed, or went silent: forget it and try again later. */
  private drop(socket: SocketLike): void {
    if (socket !== this.socket) return; // a late event of a socket already given up
    this.detach();
    this.clearTimers();
    try {
      socket.close(4000, "reconnecting");
    } catch {
      // closing a socket that never opened may throw in some browsers; it is gone either way
    }
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.random(), this.o.backoff);
    const offline = this.failures >= this.o.offlineAfter || !this.o.isOnline();
    this.o.onState(offline ? "offline" : "reconnecting", delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private schedulePing(): void {
    this.pingTimer = setTimeout(() => {
      const socket = this.socket;
      if (!socket || socket.readyState !== OPEN) return;
      socket.send(PING);
      this.pongTimer ??= setTimeout(() => {
        this.o.log("no answer to ping: reconnecting");
        this.drop(socket);
      }, this.o.pongTimeoutMs);
      this.schedulePing();
    }, this.o.pingEveryMs);
  }

  private detach(): SocketLike | null {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    return socket;
  }

  private clearPongTimer(): void {
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private clearTimers(): void {
    this.clearPongTimer();
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.pingTimer = this.reconnectTimer = null;
  }
}
