/** Something that feeds device messages into the intake (an MQTT subscription, an Event Hub consumer). */
export interface Source {
  /** True while it is connected and receiving. */
  readonly connected: boolean;
  /** Stops taking messages; whatever was acknowledged is already spooled. */
  stop(): Promise<void>;
}
