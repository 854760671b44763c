/**
 * The floor for any Bun proxy: `Bun.serve` -> `fetch` and nothing else (no auth, no log, no header
 * work). Run as its own process by the bench so its CPU can be read from /proc; prints its port.
 */
const target = process.env.BARE_PROXY_TARGET;
if (!target) throw new Error('BARE_PROXY_TARGET is required');

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req) {
    const url = req.url;
    return fetch(`${target}${url.slice(url.indexOf('/', url.indexOf('://') + 3))}`, { method: req.method, headers: req.headers, body: req.body });
  },
});
console.log(`listening ${server.port}`);
