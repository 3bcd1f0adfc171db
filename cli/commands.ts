import { readFileSync } from "node:fs";
import { z } from "zod";
import { backoffDelay, sleep } from "../bridge/backoff";
import {
  EVENTS_PAGE,
  eventsGone,
  eventsPage,
  formatIssues,
  healthResponse,
  liveFrame,
  locationName,
  LOCATIONS_PAGE,
  SHARE_LIMITS,
  locationsResponse,
  shareBody,
  shareResponse,
  rebuildResponse,
  rulesBody,
  rulesResponse,
  settingsBody,
  settingsResponse,
  statsResponse,
  type LogEvent,
  ackBody,
  ackResponse,
  systemEventId,
} from "../protocol";
import { DEVICES_PAGE, deviceBody, deviceHistoryResponse, registeredDevice, registeredDevicesResponse, type RegisteredDevice } from "../protocol/devices";
import { deviceId } from "../protocol/ids";
import { CliFailure, type ApiClient } from "./api";
import { UsageError } from "./config";
import { eventLine, fixed, keyValues, table } from "./output";

/** What a command gets: its positionals and flags, the client, and where to write. */
export interface CommandContext {
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  api: ApiClient;
  json: boolean;
  out: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM (ends `events --follow`). */
  signal: AbortSignal;
}

export interface Command {
  usage: string;
  summary: string;
  /** Extra help below the usage line. */
  details?: string;
  /** Positional arguments it takes at most (a stray one is a usage error). */
  maxArgs: number;
  /** Flags of this command (besides the global ones), as node:util parseArgs options. */
  options?: Record<string, { type: "string" | "boolean"; short?: string }>;
  run(ctx: CommandContext): Promise<void>;
}

const location = (value: string | undefined): string => {
  if (value === undefined) throw new UsageError("missing <location>");
  const parsed = locationName.safeParse(value);
  if (!parsed.success) throw new UsageError(`<location> ${JSON.stringify(value)}: ${formatIssues(parsed.error).join("; ")}`);
  return parsed.data;
};

const count = (name: string, value: string | boolean | undefined, min: number, max: number): number | undefined => {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
};

const path = (loc: string, rest = "") => `/api/v1/locations/${encodeURIComponent(loc)}${rest}`;


const printEvents = (ctx: CommandContext, events: LogEvent[]) => {
  for (const e of events) ctx.out(ctx.json ? JSON.stringify(e) : eventLine(e));
};

const CONNECT_TIMEOUT_MS = 10_000;
/** How often `rebuild` asks for progress while the worker's alarm runs the chunks. */
const REBUILD_POLL_MS = 500;

/** Pages GET …/events after `after` up to `upTo`, printing each entry; returns the last seq printed. */
/**
 * A page of the log after `after`; when retention dropped that far back (410),
 * says so on stderr and starts afresh at the first seq still held.
 */
async function eventsAfter(ctx: CommandContext, loc: string, after: number, limit: number): Promise<z.output<typeof eventsPage>> {
  try {
    return await ctx.api.request("GET", path(loc, `/events?after=${after}&limit=${limit}`), eventsPage);
  } catch (e) {
    const gone = e instanceof CliFailure && e.answer?.status === 410 ? eventsGone.safeParse(e.answer.body) : null;
    if (!gone?.success) throw e;
    process.stderr.write(`happy-hub: events up to seq ${gone.data.firstSeq - 1} were dropped by retention; going on from seq ${gone.data.firstSeq}\n`);
    return ctx.api.request("GET", path(loc, `/events?after=${gone.data.firstSeq - 1}&limit=${limit}`), eventsPage);
  }
}

async function printRange(ctx: CommandContext, loc: string, after: number, upTo: number): Promise<number> {
  let last = after;
  while (last < upTo) {
    const page = await eventsAfter(ctx, loc, last, EVENTS_PAGE.maxLimit);
    if (page.events.length === 0) break;
    printEvents(ctx, page.events);
    last = page.events.at(-1)!.seq;
  }
  return last;
}

/** Follows the live socket, printing every event after `after` once, reconnecting with `?since=` the last seq shown. */
async function follow(ctx: CommandContext, loc: string, after: number | undefined): Promise<void> {
  if (typeof WebSocket === "undefined") throw new CliFailure("--follow needs Node 22 or later (a built-in WebSocket)");
  let last = after;
  let attempt = 0;
  // Node's WebSocket does not hold the event loop open while it connects: without this, a reconnect
  // attempt to a worker that is down could let the process exit mid-follow.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    while (!ctx.signal.aborted) {
      /** Set by a `resync` frame: the socket would not send so long a backlog; page it over HTTP, then resume. */
      let resyncTo: number | null = null;
      const url = new URL(ctx.api.socketUrl(path(loc, "/live")));
      if (last !== undefined) url.searchParams.set("since", String(last));
      const outcome = await new Promise<{ opened: boolean; reason: string }>((resolve) => {
        // Node's WebSocket takes headers as a non-standard option; the viewer token goes there when set.
        const ws = new WebSocket(url, { headers: ctx.api.readHeaders() } as unknown as string[]);
        let opened = false;
        // Node's WebSocket reports a refused connection with "error" and no "close": either ends this attempt.
        const finish = (reason: string) => {
          clearTimeout(connecting);
          ctx.signal.removeEventListener("abort", stop);
          resolve({ opened, reason });
        };
        const stop = () => {
          ws.close(1000);
          finish("closed by the user");
        };
        ctx.signal.addEventListener("abort", stop, { once: true });
        // A handshake that hangs (a worker half up) is given up and retried.
        const connecting = setTimeout(() => {
          ws.close();
          finish("timed out connecting");
        }, CONNECT_TIMEOUT_MS);
        ws.addEventListener("open", () => {
          clearTimeout(connecting);
          opened = true;
          attempt = 0;
        });
        ws.addEventListener("message", (m) => {
          let frame;
          try {
            frame = liveFrame.parse(JSON.parse(String(m.data)));
          } catch (e) {
            process.stderr.write(`happy-hub: ignored a frame that breaks the contract: ${e instanceof z.ZodError ? formatIssues(e).join("; ") : (e as Error).message}\n`);
            return;
          }
          if (frame.type === "window") return;
          if (frame.type === "resync") {
            resyncTo = frame.head;
            ws.close(1000);
            finish("too far behind for a backlog");
            return;
          }
          // The snapshot's recent entries start a tail when no --after was given; afterwards only new seqs print.
          const events = frame.type === "snapshot" ? (last === undefined ? frame.recent.slice(-10) : []) : frame.events;
          const fresh = events.filter((e) => last === undefined || e.seq > last);
          printEvents(ctx, fresh);
          if (fresh.length > 0) last = fresh.at(-1)!.seq;
          else if (last === undefined) last = frame.head;
        });
        ws.addEventListener("close", (c) => finish(`closed ${c.code}${c.reason ? ` ${c.reason}` : ""}`));
        ws.addEventListener("error", () => {
          if (!opened) finish("could not connect");
        });
      });
      if (ctx.signal.aborted) return;
      if (resyncTo !== null && last !== undefined) {
        last = await printRange(ctx, loc, last, resyncTo);
        continue;
      }
      const wait = backoffDelay(attempt++, { minMs: 250, maxMs: 5_000 });
      process.stderr.write(`happy-hub: live socket ${outcome.reason}; reconnecting in ${wait} ms after seq ${last ?? "-"}\n`);
      await sleep(wait, ctx.signal);
    }
  } finally {
    clearInterval(keepAlive);
  }
}

const device = (value: string | undefined): string => {
  if (value === undefined) throw new UsageError("missing <deviceId>");
  const parsed = deviceId.safeParse(value);
  if (!parsed.success) throw new UsageError(`<deviceId> ${JSON.stringify(value)}: ${formatIssues(parsed.error).join("; ")}`);
  return parsed.data;
};
const devicePath = (id: string, rest = "") => `/api/v1/devices/${encodeURIComponent(id)}${rest}`;

const printDevices = (ctx: CommandContext, devices: RegisteredDevice[]) =>
  ctx.out(
    table(
      ["device", "name", "location", "enabled", "interval s", "refused", "tags"],
      devices.map((d) => [d.deviceId, d.name, d.location, d.enabled ? "yes" : "no", d.expectedIntervalSeconds, d.rejected, d.tags.join(",") || null]),
    ),
  );

/** A device's profile as PUT takes it, from the one registered (so set/enable/disable change only what they name). */
const profileOf = (d: RegisteredDevice) => ({
  location: d.location,
  enabled: d.enabled,
  ...(d.name !== null && { name: d.name }),
  ...(d.expectedIntervalSeconds !== null && { expectedIntervalSeconds: d.expectedIntervalSeconds }),
  ...(d.tags.length > 0 && { tags: d.tags }),
});

/** The commands, one entry each: usage, help and behaviour in one place. */
export const COMMANDS: Record<string, Command> = {
  health: {
    maxArgs: 0,
    usage: "health",
    summary: "check that the worker answers",
    async run(ctx) {
      const health = await ctx.api.request("GET", "/api/v1/health", healthResponse);
      ctx.out(ctx.json ? JSON.stringify(health) : "ok");
    },
  },
  locations: {
    maxArgs: 0,
    usage: "locations [--limit <n>]",
    summary: "every location with its live hourly score and alerts",
    details: `Pages through the fleet view (--limit locations per request, 1–${LOCATIONS_PAGE.maxLimit}); --json prints
the whole list as one page of the API's shape ({"locations":[…],"next":null}).`,
    options: { limit: { type: "string" } },
    async run(ctx) {
      const limit = count("limit", ctx.flags.limit, 1, LOCATIONS_PAGE.maxLimit);
      const all: z.output<typeof locationsResponse>["locations"] = [];
      let cursor: string | null | undefined;
      do {
        const query = new URLSearchParams();
        if (limit !== undefined) query.set("limit", String(limit));
        if (cursor) query.set("cursor", cursor);
        const page = await ctx.api.request("GET", `/api/v1/locations${query.size ? `?${query}` : ""}`, locationsResponse);
        all.push(...page.locations);
        cursor = page.next;
      } while (cursor);
      if (ctx.json) return ctx.out(JSON.stringify({ locations: all, next: null }));
      if (all.length === 0) return ctx.out("no locations yet");
      ctx.out(
        table(
          ["location", "head", "last event", "votes 1h", "score 1h", "devices 1h", "°C 1h", "% 1h", "alerts"],
          all.map((l) => [l.location, l.head, l.lastEventAt, l.window.votes, fixed(l.window.score, 3), l.window.devices, fixed(l.window.temperature, 1), fixed(l.window.humidity, 1), l.alerts]),
        ),
      );
    },
  },
  events: {
    maxArgs: 1,
    usage: "events <location> [--after <seq>] [--limit <n>] [--follow]",
    summary: "a location's log; --follow tails the live socket",
    details: `Without --follow: the entries after --after (default 0), --limit at most (default: up to the head).
With --follow: the last 10 entries (or every entry after --after), then each new one as it is
committed; a dropped socket reconnects and resumes after the last seq shown. Ctrl-C ends it.`,
    options: { after: { type: "string" }, limit: { type: "string" }, follow: { type: "boolean", short: "f" } },
    async run(ctx) {
      const loc = location(ctx.args[0]);
      const after = count("after", ctx.flags.after, 0, Number.MAX_SAFE_INTEGER);
      const limit = count("limit", ctx.flags.limit, 1, Number.MAX_SAFE_INTEGER);
      if (ctx.flags.follow) {
        if (limit !== undefined) throw new UsageError("--limit does not go with --follow");
        return follow(ctx, loc, after);
      }
      let next: number | null = after ?? 0;
      let left = limit ?? Infinity;
      const shown: LogEvent[] = [];
      while (next !== null && left > 0) {
        const page = await eventsAfter(ctx, loc, next, Math.min(left, EVENTS_PAGE.maxLimit));
        if (ctx.json) shown.push(...page.events);
        else printEvents(ctx, page.events);
        left -= page.events.length;
        next = page.next;
      }
      if (ctx.json) ctx.out(JSON.stringify({ events: shown }));
    },
  },
  rules: {
    maxArgs: 3,
    usage: "rules get <location> | rules set <location> [<file>]",
    summary: "show or replace a location's rules",
    details: `rules set reads {"rules":[…]} (or a bare array of rules) from <file>, or from stdin without one,
checks it against the contract before sending, and replaces the location's rule set (admin token).`,
    async run(ctx) {
      const [action, loc, file, ...extra] = ctx.args;
      if (action !== "get" && action !== "set") throw new UsageError(action === undefined ? "missing get or set" : `unknown rules action ${JSON.stringify(action)}: get or set`);
      const name = location(loc);
      let answer;
      if (action === "get") {
        if (file !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(file)}`);
        answer = await ctx.api.request("GET", path(name, "/rules"), rulesResponse);
      } else {
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        const json = readJsonInput(file);
        const body = rulesBody.safeParse(Array.isArray(json) ? { rules: json } : json);
        if (!body.success) throw new CliFailure(`${file ?? "stdin"} is not a valid rule set (nothing was sent)`, formatIssues(body.error));
        answer = await ctx.api.request("PUT", path(name, "/rules"), rulesResponse, { auth: "admin", body: body.data });
      }
      if (ctx.json) return ctx.out(JSON.stringify(answer));
      ctx.out(`${answer.location}: ${answer.seq === null ? "default rules" : `rules set at seq ${answer.seq}`}`);
      ctx.out(
        table(
          ["id", "metric", "op", "threshold", "min samples", "raise", "clear"],
          answer.rules.map((r) => [r.id, r.metric, r.op, r.threshold, r.minSamples, r.raise, r.clear]),
        ),
      );
    },
  },
  devices: {
    maxArgs: 2,
    usage: "devices list [--location <l>] | devices get|history|enable|disable|remove <deviceId> | devices set <deviceId> [--location <l>] [--name <n>] [--interval <s>] [--tags a,b]",
    summary: "the device registry (admin token)",
    details: `list pages through every registered device (or one location's). set registers a device (--location
required then) or changes what its flags name, keeping the rest; enable and disable switch it (a disabled
device's events are refused at ingest and counted). Every change is logged: history shows it.`,
    options: { location: { type: "string" }, name: { type: "string" }, interval: { type: "string" }, tags: { type: "string" } },
    async run(ctx) {
      const [action, id] = ctx.args;
      const admin = { auth: "admin" as const };
      if (action === "list") {
        if (id !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(id)}`);
        const loc = ctx.flags.location === undefined ? undefined : location(String(ctx.flags.location));
        const all: RegisteredDevice[] = [];
        let cursor: string | null = null;
        do {
          const query = new URLSearchParams({ limit: String(DEVICES_PAGE.maxLimit) });
          if (loc !== undefined) query.set("location", loc);
          if (cursor) query.set("cursor", cursor);
          const page: z.output<typeof registeredDevicesResponse> = await ctx.api.request("GET", `/api/v1/devices?${query}`, registeredDevicesResponse, admin);
          all.push(...page.devices);
          cursor = page.next;
        } while (cursor);
        if (ctx.json) return ctx.out(JSON.stringify({ devices: all, next: null }));
        if (all.length === 0) return ctx.out("no devices registered");
        return printDevices(ctx, all);
      }
      const known = ["get", "history", "enable", "disable", "remove", "set"];
      if (action === undefined || !known.includes(action)) {
        throw new UsageError(action === undefined ? "missing list, get, set, enable, disable, remove or history" : `unknown devices action ${JSON.stringify(action)}: ${["list", ...known].join(", ")}`);
      }
      const target = device(id);
      if (action === "remove") {
        await ctx.api.request("DELETE", devicePath(target), z.unknown(), admin);
        return ctx.out(ctx.json ? JSON.stringify({ removed: target }) : `${target}: removed`);
      }
      if (action === "history") {
        const answer = await ctx.api.request("GET", devicePath(target, "/history"), deviceHistoryResponse, admin);
        if (ctx.json) return ctx.out(JSON.stringify(answer));
        for (const h of answer.history) {
          const detail = h.type === "device-moved" ? `${h.from} → ${h.to}` : h.changes ? JSON.stringify(h.changes) : h.profile ? JSON.stringify(h.profile) : "";
          ctx.out(`${String(h.seq).padStart(6)}  ${h.at}  ${h.type.padEnd(17)}  ${detail}`.trimEnd());
        }
        return;
      }
      let answer: RegisteredDevice;
      if (action === "get") {
        answer = await ctx.api.request("GET", devicePath(target), registeredDevice, admin);
      } else {
        // set, enable, disable: start from what is registered (nothing, for a new device's set).
        let current: ReturnType<typeof profileOf> | undefined;
        try {
          current = profileOf(await ctx.api.request("GET", devicePath(target), registeredDevice, admin));
        } catch (e) {
          if (!(e instanceof CliFailure && / 404 /.test(e.message))) throw e;
        }
        if (action !== "set" && current === undefined) throw new CliFailure(`${target} is not registered`, ["register it with devices set <deviceId> --location <l>"]);
        const draft: Record<string, unknown> = { ...current };
        if (action === "enable" || action === "disable") draft.enabled = action === "enable";
        else {
          if (current === undefined) draft.enabled = true;
          if (ctx.flags.location !== undefined) draft.location = String(ctx.flags.location);
          if (ctx.flags.name !== undefined) draft.name = String(ctx.flags.name);
          if (ctx.flags.interval !== undefined) draft.expectedIntervalSeconds = count("interval", ctx.flags.interval, 1, Number.MAX_SAFE_INTEGER);
          if (ctx.flags.tags !== undefined) draft.tags = String(ctx.flags.tags).split(",").filter(Boolean);
        }
        const body = deviceBody.safeParse(draft);
        if (!body.success) throw new CliFailure(`not a valid device (nothing was sent)`, formatIssues(body.error));
        answer = await ctx.api.request("PUT", devicePath(target), registeredDevice, { ...admin, body: body.data });
      }
      if (ctx.json) return ctx.out(JSON.stringify(answer));
      printDevices(ctx, [answer]);
    },
  },
  settings: {
    maxArgs: 3,
    usage: "settings get <location> | settings set <location> [<file>]",
    summary: "show or set a location's time zone, opening hours, display name and digest time",
    details: `settings set reads {"timeZone":"Europe/London","openingHours":{"mon":[["08:00","18:00"]]},…} from <file>,
or from stdin without one, checks it against the contract before sending, and sets it (admin token).`,
    async run(ctx) {
      const [action, loc, file, ...extra] = ctx.args;
      if (action !== "get" && action !== "set") throw new UsageError(action === undefined ? "missing get or set" : `unknown settings action ${JSON.stringify(action)}: get or set`);
      const name = location(loc);
      let answer;
      if (action === "get") {
        if (file !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(file)}`);
        answer = await ctx.api.request("GET", path(name, "/settings"), settingsResponse);
      } else {
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        const body = settingsBody.safeParse(readJsonInput(file));
        if (!body.success) throw new CliFailure(`${file ?? "stdin"} is not valid settings (nothing was sent)`, formatIssues(body.error));
        answer = await ctx.api.request("PUT", path(name, "/settings"), settingsResponse, { auth: "admin", body: body.data });
      }
      if (ctx.json) return ctx.out(JSON.stringify(answer));
      const s = answer.settings;
      ctx.out(`${answer.location}: ${answer.seq === null ? "default settings" : `settings set at seq ${answer.seq}`}`);
      ctx.out(
        keyValues([
          ["time zone", s.timeZone],
          ["display name", s.displayName ?? "-"],
          ["digest at", s.digestAt ?? "-"],
          ["opening hours", s.openingHours ? Object.entries(s.openingHours).map(([day, spans]) => `${day} ${spans!.map(([a, b]) => `${a}-${b}`).join(",") || "closed"}`).join("; ") || "closed every day" : "always open"],
        ]),
      );
    },
  },
  rebuild: {
    maxArgs: 1,
    usage: "rebuild <location>",
    summary: "rebuild a location's projections from its log (admin token)",
    async run(ctx) {
      const where = path(location(ctx.args[0]), "/rebuild");
      // The worker runs the first chunk and its alarm the rest: follow the progress until the new projections are in.
      let answer = await ctx.api.request("POST", where, rebuildResponse, { auth: "admin" });
      while (answer.state === "running" && !ctx.signal.aborted) {
        await sleep(REBUILD_POLL_MS, ctx.signal);
        answer = await ctx.api.request("GET", where, rebuildResponse, { auth: "admin" });
      }
      ctx.out(ctx.json ? JSON.stringify(answer) : `${answer.location}: rebuilt from ${answer.events} events (${answer.rowsWritten} rows written)`);
    },
  },
  share: {
    maxArgs: 1,
    usage: "share <location> [--expires-in <seconds>]",
    summary: "a read-only link to one location for a kiosk or wall display (admin token)",
    details: `Makes a share link (the worker's SHARE_SECRET signs it): read-only, for that location only, valid
--expires-in seconds (default 86400 = one day; ${SHARE_LIMITS.minSeconds} to ${SHARE_LIMITS.maxSeconds}). Rotating SHARE_SECRET revokes every link.`,
    options: { "expires-in": { type: "string" } },
    async run(ctx) {
      const loc = location(ctx.args[0]);
      const expiresInSeconds = count("expires-in", ctx.flags["expires-in"], SHARE_LIMITS.minSeconds, SHARE_LIMITS.maxSeconds) ?? 86_400;
      const body = shareBody.parse({ expiresInSeconds });
      const answer = await ctx.api.request("POST", path(loc, "/share"), shareResponse, { auth: "admin", body });
      ctx.out(ctx.json ? JSON.stringify(answer) : `${answer.url}\n  read-only, ${loc} only, until ${answer.expiresAt}`);
    },
  },
  ack: {
    maxArgs: 2,
    usage: "ack <location> <alert-id> [--comment <text>]",
    summary: "acknowledge an alert, with an optional comment (admin token)",
    details: `<alert-id> is the id of the alert's alert-raised entry (~alert-<seq>; \`events <location>\` shows it).
Once only: a second acknowledgement is refused (409) with the first one's time and comment.`,
    options: { comment: { type: "string" } },
    async run(ctx) {
      const loc = location(ctx.args[0]);
      const id = ctx.args[1];
      if (id === undefined) throw new UsageError("missing <alert-id>");
      const parsedId = systemEventId.safeParse(id);
      if (!parsedId.success) throw new UsageError(`<alert-id> ${JSON.stringify(id)}: ${formatIssues(parsedId.error).join("; ")}`);
      const comment = ctx.flags.comment;
      const body = ackBody.safeParse(typeof comment === "string" ? { comment } : {});
      if (!body.success) throw new UsageError(`--comment: ${formatIssues(body.error).join("; ")}`);
      const answer = await ctx.api.request("POST", path(loc, `/alerts/${encodeURIComponent(id)}/ack`), ackResponse, { auth: "admin", body: body.data });
      const { at, comment: said } = answer.acknowledgement;
      ctx.out(ctx.json ? JSON.stringify(answer) : `${loc}: ${id} acknowledged at ${at}${said === null ? "" : ` (${JSON.stringify(said)})`}`);
    },
  },
  stats: {
    maxArgs: 1,
    usage: "stats <location>",
    summary: "writes since the location's object started (admin token)",
    async run(ctx) {
      const answer = await ctx.api.request("GET", path(location(ctx.args[0]), "/stats"), statsResponse, { auth: "admin" });
      if (ctx.json) return ctx.out(JSON.stringify(answer));
      ctx.out(
        keyValues([
          ["location", answer.location],
          ["appends", answer.appends],
          ["accepted", answer.accepted],
          ["duplicates", answer.duplicates],
          ["rows written", answer.rowsWritten],
          ["checkpoints", answer.checkpoints],
          ["alarms", answer.alarms],
        ]),
      );
    },
  },
};

/** The JSON of `file` (stdin when absent or "-"), or a failure naming what could not be read. */
function readJsonInput(file: string | undefined): unknown {
  let text: string;
  try {
    text = readFileSync(file === undefined || file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new CliFailure(`cannot read ${file ?? "stdin"}`, [(e as Error).message]);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliFailure(`${file ?? "stdin"} is not JSON`, [(e as Error).message]);
  }
}
