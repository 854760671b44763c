/** The gateway as its own process: a 20 MiB upload must stream through, not pile up in memory. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import type { Subprocess } from 'bun';
import { buildTestAgent, createTestBed, REPO_ROOT } from './docker-harness.ts';
import { authHeaders, generatedBody, TOKEN } from './helpers.ts';

const MiB = 1024 * 1024;
let bed: Awaited<ReturnType<typeof createTestBed>>;
let child: Subprocess<'ignore', 'pipe', 'inherit'> | undefined;
let url = '';

/** Resident memory of a process, from /proc, in bytes. */
function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** Starts `bun gateway/src/index.ts` and waits for its "listening" log line, then keeps draining stdout. */
async function spawnGateway(env: Record<string, string>): Promise<string> {
  child = Bun.spawn(['bun', 'gateway/src/index.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  for (;;) {
    const read = await reader.read();
    if (read.done) throw new Error(`the gateway exited before listening:\n${seen}`);
    seen += decoder.decode(read.value, { stream: true });
    const port = /"msg":"gateway listening","port":(\d+)/.exec(seen)?.[1];
    if (port) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return `http://127.0.0.1:${port}`;
    }
  }
}

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  url = await spawnGateway({
    ...bed.env,
    GATEWAY_INSTANCE: bed.instanceNamed('mem'),
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'memory-test-secret',
    GATEWAY_TRUST_EMAIL_HEADER: '1',
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
  });
}, 300_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await child?.exited;
  await bed?.cleanup();
}, 60_000);

test('a 20 MiB upload passes through without the gateway growing by anything like its size', async () => {
  const user = `memory.${crypto.randomUUID().slice(0, 8)}@example.com`;
  // Warm up: spawn the agent and let the gateway load everything it needs once.
  for (let i = 0; i < 3; i += 1) {
    const warm = await fetch(`${url}/uploads`, { method: 'POST', headers: authHeaders(user, { 'Content-Length': String(MiB) }), body: generatedBody(MiB) });
    expect(warm.status).toBe(200);
  }
  const pid = child!.pid;
  const before = memoryOf(pid, 'VmRSS');
  const res = await fetch(`${url}/uploads`, {
    method: 'POST',
    headers: authHeaders(user, { 'Content-Length': String(20 * MiB) }),
    body: generatedBody(20 * MiB),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { bodyBytes: number }).bodyBytes).toBe(20 * MiB);
  const peak = memoryOf(pid, 'VmHWM');
  expect(peak - before).toBeLessThan(8 * MiB);
}, 120_000);

test('on SIGTERM the gateway finishes the request in flight, exits and leaves its agents running', async () => {
  const user = `draining.${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await fetch(`${url}/chat`, { method: 'POST', body: '{}', headers: authHeaders(user, { 'X-Test-Mode': 'sse' }) });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const running = (await bed.containers()).filter((c) => c.State === 'running').map((c) => c.Id);
  expect(running.length).toBeGreaterThan(0);

  child!.kill('SIGTERM');
  for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value);
  expect(text.match(/^data: /gm)).toHaveLength(5);
  expect(await child!.exited).toBe(0);
  expect((await bed.containers()).filter((c) => c.State === 'running').map((c) => c.Id)).toEqual(running);
}, 60_000);
