import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpEndpoints {
  /** The Prometheus text exposition and its content type. */
  metrics: { render: () => Promise<string>; contentType: string };
  /** `ok` decides the status: 200 or 503. */
  health: () => { ok: boolean };
}

/** GET /metrics (Prometheus text) and GET /healthz (JSON); anything else is 404. */
export async function startHttpServer(host: string, port: number, endpoints: HttpEndpoints): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/metrics") {
      endpoints.metrics.render().then(
        (text) => res.writeHead(200, { "content-type": endpoints.metrics.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`cannot collect metrics: ${String(error)}`),
      );
    } else if (path === "/healthz") {
      const health = endpoints.health();
      res.writeHead(health.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(health));
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: `no route for ${path}`, routes: ["/metrics", "/healthz"] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
