/** Builds the web app and runs `next start` on a free port, for the browser tests. */
import { createServer } from 'node:net';
import { join } from 'node:path';

export const WEB_DIR = join(import.meta.dir, '..');
const NEXT_BIN = join(WEB_DIR, '..', 'node_modules', 'next', 'dist', 'bin', 'next');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let built: Promise<void> | undefined;

/** Builds once per test run, however many browser test files ask. */
export function buildWeb(): Promise<void> {
  built ??= build();
  return built;
}

async function build(): Promise<void> {
  const child = Bun.spawn(['node', NEXT_BIN, 'build'], {
    cwd: WEB_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`next build failed (${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
}

export type NextServer = { url: string; stop: () => Promise<void> };

/** `port` lets a test know the address first, e.g. to set PUBLIC_URL to it. */
export async function startWeb(env: Record<string, string>, port?: number): Promise<NextServer> {
  port ??= await freePort();
  const child = Bun.spawn(['node', NEXT_BIN, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: WEB_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NEXT_TELEMETRY_DISABLED: '1', ...env },
    stdout: 'ignore',
    stderr: 'pipe',
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}: ${await new Response(child.stderr).text()}`);
    const ok = await fetch(`${url}/login`, { redirect: 'manual' }).then((r) => r.status < 500, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('next start did not answer within 60 s');
    await Bun.sleep(200);
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}
