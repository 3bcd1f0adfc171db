import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { Aedes } from "aedes";

export interface AedesBroker {
  url: string;
  port: number;
  broker: Aedes;
  /** Closes every client and the listener. Sessions (in memory) end with it. */
  stop(): Promise<void>;
}

/** An in-process aedes broker (MQTT 3.1.1) on 127.0.0.1 and a free port. */
export async function startAedes(options: { port?: number } = {}): Promise<AedesBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    broker,
    stop: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
