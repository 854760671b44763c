/** Bun.serve set up for a proxy; shared by index.ts and the tests so both run the same server. */
import type { Hono } from 'hono';
import type { Env } from './env.ts';

export type ServeOptions = { port: number; hostname: string };

export function serve(app: Hono<Env>, { port, hostname }: ServeOptions) {
  return Bun.serve({
    port,
    hostname,
    // MAX_BODY_BYTES is enforced by the gateway with a JSON 413; Bun's own limit would answer with an empty one.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch(req, server) {
      // Chats stream for minutes with quiet gaps; the proxy bounds only the wait for headers.
      server.timeout(req, 0);
      return app.fetch(req, server);
    },
  });
}
