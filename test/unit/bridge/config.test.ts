import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, OPTIONS, commandsUrlFor, flagOf, helpText, parseConfig, readCli, redacted, type OptionKey } from "../../../bridge/config";

const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
};
const cli = (argv: string[], env: Record<string, string> = {}) => {
  const r = readCli(argv, env);
  if (r.help) throw new Error("unexpected --help");
  return parseConfig(r.input);
};

describe("bridge configuration", () => {
  it("has working defaults; only INGEST_TOKEN is required", () => {
    const c = cli([], { INGEST_TOKEN: "t" });
    expect(c).toMatchObject({
      source: "mqtt",
      mqttUrl: "mqtt://127.0.0.1:1883",
      mqttTopic: "devices/+/messages/events/#",
      mqttProtocolVersion: 4,
      ingestUrl: "http://127.0.0.1:8787/api/v1/ingest",
      stateDir: ".state/bridge",
      batchMaxEvents: 500,
      outboxSync: "normal",
      mqttRejectUnauthorized: true,
      routes: [],
    });
    expect(c.defaultLocation).toBeUndefined();
    expect(c.mqttClientId).toMatch(/^happy-hub-bridge-/);
    expect(problems(() => cli([]))).toEqual(["INGEST_TOKEN (--ingest-token): is required"]);
  });

  it("reads environment variables, and flags win over them (both --x v and --x=v)", () => {
    const c = cli(["--mqtt-url", "mqtts://broker:8883", "--batch-max-events=100", "--mqtt-protocol-version", "5"], {
      INGEST_TOKEN: "t",
      MQTT_URL: "mqtt://ignored:1883",
      BATCH_MAX_EVENTS: "7",
      DEFAULT_LOCATION: "MTC",
      MQTT_TLS_REJECT_UNAUTHORIZED: "false",
      MQTT_USERNAME: "",
    });
    expect(c).toMatchObject({ mqttUrl: "mqtts://broker:8883", batchMaxEvents: 100, mqttProtocolVersion: 5, defaultLocation: "MTC", mqttRejectUnauthorized: false });
    expect(c.mqttUsername).toBeUndefined(); // empty variables count as unset
  });

  it("names every bad option with its variable and flag, all at once", () => {
    const list = problems(() =>
      cli(["--batch-max-events", "5000", "--mqtt-url", "http://x"], {
        INGEST_TOKEN: "t",
        BRIDGE_HTTP_PORT: "http",
        OUTBOX_SYNC: "sometimes",
        DEFAULT_LOCATION: "a/b",
        MQTT_PROTOCOL_VERSION: "3",
        MQTT_CA_FILE: "/nonexistent/ca.pem",
        INGEST_URL: "ftp://x",
      }),
    );
    expect(list).toEqual([
      expect.stringMatching(/^MQTT_URL \(--mqtt-url\): must be a URL starting with mqtt:/),
      "MQTT_PROTOCOL_VERSION (--mqtt-protocol-version): must be 3.1.1 or 5",
      "MQTT_CA_FILE (--mqtt-ca-file): file does not exist or is not readable",
      expect.stringMatching(/^INGEST_URL \(--ingest-url\): must be a URL starting with http:\/\//),
      "BATCH_MAX_EVENTS (--batch-max-events): must be at most 1000",
      "OUTBOX_SYNC (--outbox-sync): must be normal or full",
      expect.stringMatching(/^DEFAULT_LOCATION \(--default-location\): location may hold only/),
      "BRIDGE_HTTP_PORT (--bridge-http-port): must be an integer",
    ]);
  });

  it("checks options against each other", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const pem = join(dir, "cert.pem");
    writeFileSync(pem, "x");
    expect(problems(() => cli(["--mqtt-cert-file", pem], { INGEST_TOKEN: "t" }))).toEqual([
      "MQTT_CERT_FILE (--mqtt-cert-file) and MQTT_KEY_FILE (--mqtt-key-file): set both or neither",
    ]);
    expect(problems(() => cli(["--bridge-source", "azure"], { INGEST_TOKEN: "t" }))).toEqual([
      "AZURE_EVENTHUB_CONNECTION_STRING (--azure-eventhub-connection-string): is required when BRIDGE_SOURCE is azure",
    ]);
    expect(problems(() => cli(["--retry-min-ms", "500", "--retry-max-ms", "100"], { INGEST_TOKEN: "t" }))).toEqual([
      "RETRY_MIN_MS (--retry-min-ms): must not exceed RETRY_MAX_MS",
    ]);
    expect(problems(() => cli(["--mqtt-share-group", "g", "--mqtt-topic", "$share/h/devices/#"], { INGEST_TOKEN: "t" }))).toEqual([
      expect.stringContaining("MQTT_SHARE_GROUP (--mqtt-share-group): MQTT_TOPIC is already a $share filter"),
    ]);
  });

  it("relays commands by default for the MQTT source, over INGEST_URL's sibling /commands/live, with a ping every 30 s", () => {
    expect(cli([], { INGEST_TOKEN: "t" })).toMatchObject({ commandsEnabled: true, commandsUrl: "http://127.0.0.1:8787/api/v1/commands/live", commandsKeepaliveMs: 30_000 });
    expect(cli(["--ingest-url", "https://hub.example.com/api/v1/ingest"], { INGEST_TOKEN: "t" }).commandsUrl).toBe("https://hub.example.com/api/v1/commands/live");
    expect(cli(["--commands-url", "wss://other:1/feed", "--commands-keepalive-ms", "10000"], { INGEST_TOKEN: "t" })).toMatchObject({
      commandsUrl: "wss://other:1/feed",
      commandsKeepaliveMs: 10_000,
    });
    expect(cli(["--commands-enabled", "false"], { INGEST_TOKEN: "t" }).commandsEnabled).toBe(false);
    expect(cli(["--commands-enabled"], { INGEST_TOKEN: "t" }).commandsEnabled).toBe(true); // a bare flag
    expect(commandsUrlFor("http://h/prefix/ingest/?x=1")).toBe("http://h/prefix/commands/live");
    expect(commandsUrlFor("http://h/api/v1/ingestion")).toBeUndefined();
  });

  it("refuses command settings that cannot work, naming the option", () => {
    const azure = { INGEST_TOKEN: "t", BRIDGE_SOURCE: "azure", AZURE_EVENTHUB_CONNECTION_STRING: "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=v" };
    expect(cli([], azure).commandsEnabled).toBe(false); // the azure source has no broker to publish to
    expect(problems(() => cli(["--commands-enabled", "true"], azure))).toEqual([
      expect.stringMatching(/^COMMANDS_ENABLED \(--commands-enabled\): the azure source cannot deliver commands \(IoT Hub takes cloud-to-device messages through its service API/),
    ]);
    expect(problems(() => cli(["--ingest-url", "http://h/in"], { INGEST_TOKEN: "t" }))).toEqual([
      "COMMANDS_URL (--commands-url): cannot be derived from INGEST_URL http://h/in (its path does not end in /ingest); set it, or COMMANDS_ENABLED=false",
    ]);
    expect(cli(["--ingest-url", "http://h/in", "--commands-enabled", "false"], { INGEST_TOKEN: "t" }).commandsEnabled).toBe(false);
    expect(problems(() => cli(["--commands-keepalive-ms", "5", "--commands-url", "mqtt://x"], { INGEST_TOKEN: "t" }))).toEqual([
      expect.stringMatching(/^COMMANDS_URL \(--commands-url\): must be a URL starting with http:\/\/, https:\/\/, ws:\/\/, wss:\/\//),
      "COMMANDS_KEEPALIVE_MS (--commands-keepalive-ms): must be at least 1000",
    ]);
  });

  it("loads the routes file and reports its problems under ROUTES_FILE", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    writeFileSync(good, JSON.stringify({ routes: [{ pattern: "arduino.*", location: "MTC", temperatureUnit: "F" }] }));
    writeFileSync(bad, JSON.stringify({ routes: [{ pattern: "x", temperatureUnit: "kelvin" }] }));
    expect(cli(["--routes-file", good], { INGEST_TOKEN: "t" }).routes).toHaveLength(1);
    expect(problems(() => cli(["--routes-file", bad], { INGEST_TOKEN: "t" }))).toEqual([
      expect.stringMatching(/^ROUTES_FILE \(--routes-file\): .*bad\.json: routes\.0\.temperatureUnit: temperatureUnit must be "C" or "F"/),
    ]);
  });

  it("refuses unknown flags and flags without a value", () => {
    expect(problems(() => readCli(["--mqtt-ulr", "x"], {}))).toEqual(["unknown option --mqtt-ulr (see --help)"]);
    expect(problems(() => readCli(["stray"], {}))).toEqual(["unexpected argument stray (options are --name value)"]);
    expect(problems(() => readCli(["--mqtt-url"], {}))).toEqual(["MQTT_URL (--mqtt-url): needs a value"]);
    expect(readCli(["--mqtt-url", "x", "--help"], {})).toEqual({ help: true });
    expect(readCli(["-h"], {})).toEqual({ help: true });
    expect(problems(() => readCli(["--nope=1", "--mqtt-url", "x", "-z", "--", "y"], {}))).toEqual([
      "unknown option --nope (see --help)",
      "unknown option -z (see --help)",
      "unexpected argument -- (options are --name value)",
      "unexpected argument y (options are --name value)",
    ]);
  });

  it("reads --flag value, --flag=value, a true/false flag alone or with its value; flags win over the environment", () => {
    const read = (argv: string[], env: Record<string, string> = {}) => {
      const r = readCli(argv, env);
      if (r.help) throw new Error("help");
      return r.input;
    };
    expect(read(["--mqtt-url=mqtt://a", "--batch-max-events", "7"], { MQTT_URL: "mqtt://env", LOG_LEVEL: "warn" })).toEqual({
      mqttUrl: "mqtt://a",
      batchMaxEvents: "7",
      logLevel: "warn",
    });
    expect(read(["--commands-enabled"])).toEqual({ commandsEnabled: "true" });
    expect(read(["--commands-enabled", "false", "--log-level", "debug"])).toEqual({ commandsEnabled: "false", logLevel: "debug" });
    expect(read(["--commands-enabled=no"])).toEqual({ commandsEnabled: "no" });
    expect(read(["--commands-enabled", "--log-level", "debug"])).toEqual({ commandsEnabled: "true", logLevel: "debug" });
    expect(read(["--retry-min-ms", "-5"])).toEqual({ retryMinMs: "-5" });
  });

  it("--help and docs/BRIDGE.md list every option with its variable and flag; help shows defaults", () => {
    const help = helpText();
    const docs = readFileSync(resolve(import.meta.dirname, "../../../docs/BRIDGE.md"), "utf8");
    for (const key of Object.keys(OPTIONS) as OptionKey[]) {
      const spec = OPTIONS[key];
      expect(help).toContain(`${flagOf(key)} <value>  ${spec.env}`);
      expect(docs).toContain(`\`${spec.env}\``);
      expect(docs).toContain(`\`${flagOf(key)}\``);
      if ("default" in spec && key !== "mqttClientId") {
        expect(help).toContain(`(default: ${spec.default})`);
        expect(docs).toContain(`\`${spec.default}\``);
      }
    }
  });

  it("never logs secrets", () => {
    const c = cli([], { INGEST_TOKEN: "s3cret", MQTT_PASSWORD: "pw", MQTT_URL: "mqtts://bridge:urlsecret@broker:8883" });
    const shown = JSON.stringify(redacted(c));
    expect(shown).not.toContain("s3cret");
    expect(shown).not.toContain('"pw"');
    expect(shown).not.toContain("urlsecret");
    expect(redacted(c).ingestToken).toBe("***");
  });

  it("accepts typed values from code (startBridge input) as well as strings", () => {
    const c = parseConfig({ ingestToken: "t", httpPort: 0, mqttProtocolVersion: 5, mqttRejectUnauthorized: false });
    expect(c).toMatchObject({ httpPort: 0, mqttProtocolVersion: 5, mqttRejectUnauthorized: false });
    expect(parseConfig(c)).toMatchObject({ httpPort: 0, mqttProtocolVersion: 5 }); // idempotent
  });

  it("every documented way to launch the bridge caps the V8 heap the same way", () => {
    const root = resolve(import.meta.dirname, "../../..");
    const flag = "--max-old-space-size=96";
    const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")) as { scripts: Record<string, string>; bin: Record<string, string> };
    expect(pkg.scripts.bridge).toBe(`tsx ${flag} bridge/main.ts`);
    expect(readFileSync(resolve(root, pkg.bin["happy-hub-bridge"]!), "utf8").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flag}`);
    expect(readFileSync(resolve(root, "docs/BRIDGE.md"), "utf8")).toContain(`node ${flag} /opt/happy-hub/bin/happy-hub-bridge.mjs`);
  });
});
