import { app } from "./app";

export { LocationStream } from "../durable-objects/location-stream";
export { CommandHub } from "../durable-objects/command-hub";
export { Fleet } from "../durable-objects/fleet";
export { DeviceRegistry } from "../durable-objects/device-registry";
export { NotificationConfig } from "../durable-objects/notification-config";

export default app satisfies ExportedHandler<Env>;
