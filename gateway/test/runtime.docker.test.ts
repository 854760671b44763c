/** Integration tests against the real Docker Engine, with the tiny test agent of fixtures/. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { eventually } from '../../test/support/eventually.ts';
import { run as runCommand } from '../../scripts/lib/run.ts';
import { AGENT_IMAGE, buildTestAgent, createTestBed, NETWORK, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

type Echo = { method: string; path: string; headers: Record<string, string>; bodyBytes: number; marker: string | null };

let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  // The crowd test opens 50 requests of one user at once, past the default USER_MAX_CONNECTIONS.
  gateway = await startTestGateway({ ...bed.env, USER_MAX_CONNECTIONS: '64' });
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await bed?.cleanup();
}, 60_000);

const call = (path: string, user: string, init: RequestInit = {}, extra: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: authHeaders(user, extra) });

async function containerOf(user: string) {
  const found = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  expect(found).toHaveLength(1);
  return bed.docker.getContainer(found[0]!.Id).inspect();
}

/** Waits until the events stream has told the route table that the agent is gone. */
async function untilRouteGone(user: string) {
  await eventually(() => expect(gateway.routes.get(identityFor(user).id)).toBeUndefined(), 20_000, 50);
}

describe('the gateway on a real Docker Engine', () => {
  test('a first request spawns one agent with the binds, env, network, labels and limits, and the answer comes back', async () => {
    const user = email('first');
    const res = await call('/chat?q=1', user, { method: 'POST', body: JSON.stringify({ message: 'hi' }) }, { 'X-Session-ID': 's1', 'Content-Type': 'application/json' });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    const identity = identityFor(user, bed.instance);
    expect(echo).toMatchObject({ method: 'POST', path: '/chat', bodyBytes: 16 });
    expect(echo.headers['x-user-id']).toBe(identity.id);
    expect(echo.headers['x-session-id']).toBe('s1');
    expect(echo.headers['x-request-id']).toBe(res.headers.get('x-request-id')!);
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers.authorization).not.toContain('test-gateway-token');

    const info = await containerOf(user);
    expect(info.Name).toBe(`/${identity.containerName}`);
    expect(info.Config.Labels).toMatchObject({
      [LABELS.managed]: 'true',
      [LABELS.userId]: identity.id,
      [LABELS.email]: user,
      [LABELS.instance]: bed.instance,
    });
    expect(info.Config.Env).toContain('NANOBOT_HTTP_PORT=8000');
    expect(info.Config.Env.some((e) => e.startsWith('NANOBOT_HTTP_TOKEN=') && e.length > 40)).toBe(true);
    expect(info.HostConfig.Binds).toEqual([
      `${join(bed.dataDir, identity.id)}:/root/.nanobot`,
      `${join(bed.dataDir, '.state', 'agent-config', `${identity.id}.json`)}:/root/.nanobot/config.json:ro`,
    ]);
    expect(info.HostConfig.NetworkMode).toBe(NETWORK);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([NETWORK]);
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 5 });
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Tmpfs).toEqual({ '/tmp': 'rw,nosuid,nodev,size=64m' });
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    expect(info.Config.Cmd).toEqual(['gateway']);
    expect((info.Config as { StopTimeout?: number }).StopTimeout).toBe(25);
    expect(existsSync(join(bed.dataDir, identity.id))).toBe(true);
  }, 60_000);

  test('fifty concurrent first requests for one user create exactly one container', async () => {
    const user = email('crowd');
    const answers = await Promise.all(Array.from({ length: 50 }, () => call('/memory', user)));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(await bed.containers([`${LABELS.userId}=${identityFor(user).id}`])).toHaveLength(1);
  }, 60_000);

  test('two emails with the same slug get two containers and two data folders', async () => {
    const a = `john.smith.${run}@gmail.com`;
    const b = `john@smith.${run}.gmail.com`;
    expect(identityFor(a).id.split('-')[0]).toBe(identityFor(b).id.split('-')[0]);
    const [ra, rb] = await Promise.all([call('/files', a, {}, { 'X-Test-Write': 'A' }), call('/files', b, {}, { 'X-Test-Write': 'B' })]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    const [ca, cb] = [await containerOf(a), await containerOf(b)];
    expect(ca.Id).not.toBe(cb.Id);
    expect(readFileSync(join(bed.dataDir, identityFor(a).id, 'marker.txt'), 'utf8')).toBe('A');
    expect(readFileSync(join(bed.dataDir, identityFor(b).id, 'marker.txt'), 'utf8')).toBe('B');
  }, 60_000);

  test('a stopped agent is started again and a removed one recreated, with its data folder intact', async () => {
    const user = email('phoenix');
    expect((await call('/memory', user, {}, { 'X-Test-Write': 'remember me' })).status).toBe(200);
    const first = await containerOf(user);

    await bed.docker.getContainer(first.Id).stop({ t: 1 });
    await untilRouteGone(user);
    const afterStop = await call('/memory', user);
    expect(afterStop.status).toBe(200);
    expect(((await afterStop.json()) as Echo).marker).toBe('remember me');
    const restarted = await containerOf(user);
    expect(restarted.Id).toBe(first.Id);
    expect(restarted.State.Running).toBe(true);

    await bed.docker.getContainer(first.Id).remove({ force: true });
    await untilRouteGone(user);
    const afterRemove = await call('/memory', user);
    expect(afterRemove.status).toBe(200);
    expect(((await afterRemove.json()) as Echo).marker).toBe('remember me');
    expect((await containerOf(user)).Id).not.toBe(first.Id);
  }, 90_000);

  test('an agent that never becomes healthy gives a JSON 504 after the start timeout', async () => {
    const slow = await startTestGateway({ ...bed.env, START_TIMEOUT_MS: '1500' });
    try {
      const user = email('sleepy');
      const folder = join(bed.dataDir, identityFor(user).id);
      await Bun.write(join(folder, 'never-healthy'), '');
      const res = await fetch(`${slow.url}/chat`, { headers: authHeaders(user) });
      expect(res.status).toBe(504);
      expect(((await res.json()) as { code: string }).code).toBe('agent_start_timeout');
    } finally {
      await slow.stop();
    }
  }, 60_000);

  test('a missing agent image gives a JSON 503 that says so', async () => {
    const broken = await startTestGateway({ ...bed.env, AGENT_IMAGE: 'nbtest-gw-no-such-image:never' });
    try {
      const res = await fetch(`${broken.url}/chat`, { headers: authHeaders(email('imageless')) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      const body = (await res.json()) as { error: string; code: string };
      expect(body.code).toBe('image_missing');
      expect(body.error).toContain('nbtest-gw-no-such-image:never');
      const ready = await fetch(`${broken.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { code: string }).code).toBe('not_ready');
    } finally {
      await broken.stop();
    }
  }, 60_000);

  test('an SSE answer reaches the client chunk by chunk', async () => {
    const res = await call('/chat', email('stream'), { method: 'POST', body: '{}' }, { Accept: 'text/event-stream', 'X-Test-Mode': 'sse' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    const firstArrivedAt = Date.now();
    let text = decoder.decode(first.value);
    for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value);
    const events = [...text.matchAll(/data: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!) as { i: number; sentAt: number });
    expect(events.map((e) => e.i)).toEqual([0, 1, 2, 3, 4]);
    // The first chunk was in our hands before the agent had even written the last one.
    expect(firstArrivedAt).toBeLessThan(events[4]!.sentAt);
  }, 60_000);

  test('a client that disconnects mid-stream aborts the request to the agent', async () => {
    const user = email('leaver');
    const client = new AbortController();
    const res = await call('/chat', user, { method: 'POST', body: '{}', signal: client.signal }, { 'X-Test-Mode': 'sse', 'X-Test-Events': '100' });
    const reader = res.body!.getReader();
    await reader.read();
    client.abort();
    const trace = join(bed.dataDir, identityFor(user).id, 'sse-cancelled');
    // The test agent leaves this trace only when its stream is cancelled; without the abort it never appears.
    await eventually(() => expect(existsSync(trace)).toBe(true), 15_000, 100);
  }, 30_000);

  test('an agent that does not answer gives a JSON 504 after the upstream timeout', async () => {
    const res = await call('/chat', email('silent'), { method: 'POST', body: '{}' }, { 'X-Test-Mode': 'hang' });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe('upstream_timeout');
  }, 60_000);

  test('a chunked body over MAX_BODY_BYTES gives a JSON 413', async () => {
    const small = await startTestGateway({ ...bed.env, MAX_BODY_BYTES: '100000' });
    try {
      const user = email('big');
      expect((await fetch(`${small.url}/health`, { headers: authHeaders(user) })).status).toBe(200);
      const chunk = new Uint8Array(50_000);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 10) return controller.close();
          sent += 1;
          controller.enqueue(chunk);
        },
      });
      const res = await fetch(`${small.url}/uploads`, { method: 'POST', headers: authHeaders(user), body });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
    } finally {
      await small.stop();
    }
  }, 60_000);

  test('a declared body over MAX_BODY_BYTES gives a JSON 413 without starting an agent', async () => {
    const small = await startTestGateway({ ...bed.env, MAX_BODY_BYTES: '100000' });
    try {
      const user = email('declared');
      const res = await fetch(`${small.url}/uploads`, { method: 'POST', headers: authHeaders(user), body: new Uint8Array(200_000) });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
      expect(await bed.containers([`${LABELS.userId}=${identityFor(user).id}`])).toEqual([]);
    } finally {
      await small.stop();
    }
  }, 60_000);

  test('proxying to a running agent makes no Docker API call', async () => {
    const user = email('hot');
    expect((await call('/files', user)).status).toBe(200);
    // Let the start event of the new agent arrive, so only the proxied request is measured.
    await Bun.sleep(500);
    const before = gateway.calls.length;
    const res = await call('/files/notes/today.md', user);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).path).toBe('/files/notes/today.md');
    expect(gateway.calls.slice(before)).toEqual([]);
  }, 60_000);

  test('a restarted gateway serves a running agent without creating a container', async () => {
    const user = email('survivor');
    expect((await call('/sessions', user)).status).toBe(200);
    const before = await containerOf(user);

    const second = await startTestGateway(bed.env);
    try {
      expect(second.routes.get(identityFor(user).id)).toBeDefined();
      const res = await fetch(`${second.url}/sessions`, { headers: authHeaders(user) });
      expect(res.status).toBe(200);
      expect(second.calls.some((c) => c.path.startsWith('/containers/create'))).toBe(false);
      expect((await containerOf(user)).Id).toBe(before.Id);
    } finally {
      await second.stop();
    }
  }, 60_000);

  test('an agent made from an older image is replaced on the next request, with its data intact', async () => {
    const user = email('upgraded');
    expect((await call('/memory', user, {}, { 'X-Test-Write': 'kept across upgrades' })).status).toBe(200);
    const old = await containerOf(user);
    const newer = `${AGENT_IMAGE.split(':')[0]}:newer`;
    await runCommand(['docker', 'build', '-q', '-t', newer, '-'], { stdin: new Blob([`FROM ${AGENT_IMAGE}\nLABEL nbtest.variant=newer\n`]) });
    const upgraded = await startTestGateway({ ...bed.env, AGENT_IMAGE: newer });
    try {
      expect(upgraded.routes.get(identityFor(user).id)).toBeUndefined();
      const res = await fetch(`${upgraded.url}/memory`, { headers: authHeaders(user) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Echo).marker).toBe('kept across upgrades');
      const now = await containerOf(user);
      expect(now.Id).not.toBe(old.Id);
      expect(now.Image).toBe((await bed.docker.getImage(newer).inspect()).Id);
    } finally {
      await upgraded.stop();
      // The newer image can only go once no container uses it.
      await bed.docker.getContainer(identityFor(user, bed.instance).containerName).remove({ force: true });
      await bed.docker.getImage(newer).remove().catch(() => {});
    }
  }, 120_000);

  test('an agent made under another AGENT_TOKEN_SECRET is replaced instead of refusing every request', async () => {
    const user = email('rekeyed');
    expect((await call('/sessions', user)).status).toBe(200);
    const old = await containerOf(user);
    const rekeyed = await startTestGateway({ ...bed.env, AGENT_TOKEN_SECRET: 'a-new-secret' });
    try {
      const res = await fetch(`${rekeyed.url}/sessions`, { headers: authHeaders(user) });
      expect(res.status).toBe(200);
      expect((await containerOf(user)).Id).not.toBe(old.Id);
    } finally {
      await rekeyed.stop();
    }
  }, 120_000);

  test('an agent made with other limits is replaced on the next request after a restart, with the new limits and its data', async () => {
    const user = email('relimited');
    expect((await call('/memory', user, {}, { 'X-Test-Write': 'kept across new limits' })).status).toBe(200);
    const old = await containerOf(user);
    const relimited = await startTestGateway({ ...bed.env, AGENT_MEMORY: '192m', AGENT_PIDS: '100' });
    try {
      const res = await fetch(`${relimited.url}/memory`, { headers: authHeaders(user) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Echo).marker).toBe('kept across new limits');
      const now = await containerOf(user);
      expect(now.Id).not.toBe(old.Id);
      expect(now.HostConfig.Memory).toBe(192 * 1024 * 1024);
      expect(now.HostConfig.PidsLimit).toBe(100);
    } finally {
      await relimited.stop();
    }
  }, 120_000);

  test('/readyz reports ready when the engine answers and the image exists', async () => {
    const res = await fetch(`${gateway.url}/readyz`);
    expect(res.status).toBe(200);
  });
});
