/** The gateway as its own process: a 20 MiB upload must stream through, not pile up in memory. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { generatedBody } from '../../test/support/bodies.ts';
import { spawnGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { buildTestAgent, createTestBed } from './docker-harness.ts';
import { authHeaders, TOKEN } from './helpers.ts';

const MiB = 1024 * 1024;
let bed: Awaited<ReturnType<typeof createTestBed>>;
let child: GatewayProcess | undefined;
let url = '';

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  child = await spawnGateway({
    ...bed.env,
    GATEWAY_INSTANCE: bed.instanceNamed('mem'),
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'memory-test-secret',
    GATEWAY_TRUST_EMAIL_HEADER: '1',
    PORT: '0',
    LISTEN_HOST: '127.0.0.1',
  });
  url = child.url;
}, 300_000);

afterAll(async () => {
  await child?.stop();
  await bed?.cleanup();
}, 60_000);

test('a 20 MiB upload passes through without the gateway growing by anything like its size', async () => {
  const user = `memory.${crypto.randomUUID().slice(0, 8)}@example.com`;
  // Warm up: spawn the agent and let the gateway load everything it needs once.
  for (let i = 0; i < 3; i += 1) {
    const warm = await fetch(`${url}/uploads`, { method: 'POST', headers: authHeaders(user, { 'Content-Length': String(MiB) }), body: generatedBody(MiB) });
    expect(warm.status).toBe(200);
  }
  const before = child!.rss();
  const res = await fetch(`${url}/uploads`, {
    method: 'POST',
    headers: authHeaders(user, { 'Content-Length': String(20 * MiB) }),
    body: generatedBody(20 * MiB),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { bodyBytes: number }).bodyBytes).toBe(20 * MiB);
  const peak = child!.peakRss();
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

  child!.terminate();
  for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value);
  expect(text.match(/^data: /gm)).toHaveLength(5);
  expect(await child!.exited).toBe(0);
  expect((await bed.containers()).filter((c) => c.State === 'running').map((c) => c.Id)).toEqual(running);
}, 60_000);
