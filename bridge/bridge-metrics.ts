import { Registry } from "./metrics";

/** Request latencies worth telling apart, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface BridgeGauges {
  outboxDepth: () => number;
  sourceConnected: () => boolean;
  /** Commands published whose delivery the worker has not acknowledged yet (absent: commands are off). */
  commandReportsPending?: () => number;
  /** When the command relay last failed (epoch ms), or null (absent: commands are off). */
  commandFeedLastErrorAt?: () => number | null;
  /** Whether the commands socket is open and resumed (absent: commands are off). */
  commandHubConnected?: () => boolean;
  /** When the relay last published a command (epoch ms), or null. */
  commandLastAt?: () => number | null;
}

/** The bridge's Prometheus metrics (served on /metrics), with prom-client's process and Node.js metrics. */
export function createBridgeMetrics(gauges: BridgeGauges) {
  const r = new Registry();
  // Read at scrape time.
  r.gauge("bridge_command_reports_pending", "Commands published whose delivery the worker has not acknowledged yet.", () => gauges.commandReportsPending?.() ?? 0);
  r.gauge(
    "bridge_command_feed_last_error_timestamp_seconds",
    "When the command relay last failed (0: never since start; the message is in /healthz and the log).",
    () => (gauges.commandFeedLastErrorAt?.() ?? 0) / 1000,
  );
  r.gauge("bridge_outbox_depth", "Events spooled and not yet acknowledged by the worker.", gauges.outboxDepth);
  r.gauge("bridge_source_connected", "1 while the source (broker or Event Hub) is connected.", () => (gauges.sourceConnected() ? 1 : 0));
  r.gauge("bridge_command_hub_connected", "1 while the commands socket is open and the hub answered its resume.", () => (gauges.commandHubConnected?.() ? 1 : 0));
  r.gauge(
    "bridge_command_last_published_timestamp_seconds",
    "When this bridge last published a command (0: not since start).",
    () => (gauges.commandLastAt?.() ?? 0) / 1000,
  );
  return {
    registry: r,
    received: r.counter("bridge_messages_received_total", "Device messages received from the source."),
    spooled: r.counter("bridge_events_spooled_total", "Events written to the outbox (then acknowledged to the source)."),
    redeliveriesRecognised: r.counter(
      "bridge_mqtt_redeliveries_recognised_total",
      "Messages without $.mid the broker redelivered (DUP, same packet id, topic and payload) after they were spooled: given the id they already had, so stored once.",
    ),
    deferred: r.counter("bridge_messages_deferred_total", "Messages left unacknowledged because the outbox was full; the broker redelivers them."),
    sent: r.counter("bridge_events_sent_total", "Events in requests the worker answered 200."),
    acknowledged: r.counter("bridge_events_acknowledged_total", "Events the worker stored (new)."),
    duplicates: r.counter("bridge_events_duplicate_total", "Events the worker already had (same id): acknowledged, not stored again."),
    rejected: r.counter("bridge_events_rejected_total", "Events the worker refused; they are dead-lettered."),
    deadLettered: r.counter("bridge_dead_letters_total", "Messages and events written to the dead-letter file, by reason.", ["reason"]),
    requests: r.counter("bridge_ingest_requests_total", "Requests to the worker, by HTTP status (error: no response).", ["status"]),
    retries: r.counter("bridge_ingest_retries_total", "Batches retried after a failure."),
    unrecognised: r.counter(
      "bridge_ingest_unrecognised_responses_total",
      "Answers that are not the worker's contract (an error without its error body, a 200 whose counts do not add up), by HTTP status: retried, never dead-lettered.",
      ["status"],
    ),
    splits: r.counter("bridge_ingest_splits_total", "Batches split in two to isolate an event the worker refused (400/413) or failed on (5xx) every time."),
    sendLatency: r.histogram("bridge_send_duration_seconds", "Time from sending a batch to the worker's answer.", LATENCY_BUCKETS),
    commandsPublished: r.counter("bridge_commands_published_total", "Commands published to devices and acknowledged by the broker (PUBACK)."),
    commandsSkipped: r.counter(
      "bridge_commands_skipped_total",
      "Commands the hub handed out again that this bridge had already published (after a restart or a dropped socket): reported, not published again.",
    ),
    commandReports: r.counter(
      "bridge_command_deliveries_reported_total",
      "Deliveries the commands hub acknowledged, by its answer: recorded, or unknown (not a command of its epoch).",
      ["result"],
    ),
    commandFeedFailures: r.counter("bridge_command_feed_failures_total", "Failed connections or sessions of the commands socket (or a failed publish), each followed by a reconnect with backoff."),
    commandEpochChanges: r.counter(
      "bridge_command_epoch_changes_total",
      "Times the commands hub said hello with another epoch than the saved one (the worker's state was wiped): the relay started over from the new epoch's start.",
    ),
  };
}

export type BridgeMetrics = ReturnType<typeof createBridgeMetrics>;
