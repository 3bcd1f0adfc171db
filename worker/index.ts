import { app } from "./app";

export { LocationStream } from "../durable-objects/location-stream";
export { Directory } from "../durable-objects/directory";

export default app satisfies ExportedHandler<Env>;
export { CommandHub } from "../durable-objects/command-hub";
