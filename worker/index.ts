import { app } from "./app";

export { LocationStream } from "../durable-objects/location-stream";
export { Directory } from "../durable-objects/directory";
export { Fleet } from "../durable-objects/fleet";

export default app satisfies ExportedHandler<Env>;
