/** The in-process aedes broker (MQTT 3.1.1) for tests: the same one the local stack embeds. */
export { startEmbeddedBroker as startAedes, type EmbeddedBroker as AedesBroker } from "../../scripts/lib/embedded-broker";
