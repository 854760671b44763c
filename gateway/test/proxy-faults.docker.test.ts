/**
 * Two faults of an agent on the real engine, with the reference agent image and the fake LLM behind
 * the relay: an agent paused before and during a streamed answer (its student gets a timely error,
 * another student is unaffected, unpause serves again with the question kept) and an
 * agent killed in the middle of a streamed answer (an SSE `error` event, and the question is kept);
 * and hostile identities that must create nothing on the engine or the disk.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, writeFile } from 'node:fs/promises';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { buildImage } from '../../scripts/lib/images.ts';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { INVALID_EMAILS } from './emails.ts';
import { authHeaders } from './helpers.ts';

const TUTOR_IMAGE = 'nbtest-faults-tutor:latest';
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;
const QUICK_TIMEOUT_MS = 2_000;
const RECHECK_MS = 500;

let bed: Awaited<ReturnType<typeof createTestBed>>;
let llm: FakeLlm;
let gateway: TestGateway;
let env: Record<string, string>;

beforeAll(async () => {
  bed = await createTestBed();
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TUTOR_IMAGE, quiet: true });
  // Slow enough that the answer is still streaming when the test kills the agent.
  llm = startFakeLlm({ chunkDelayMs: 400 });
  await writeFile(bed.env.CONFIG_PATH, JSON.stringify({
    providers: { custom: { apiKey: 'sk-faults-test', apiBase: llm.url } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 256, temperature: 0, memoryWindow: 50, maxToolIterations: 4 } },
  }));
  env = {
    ...bed.env,
    AGENT_IMAGE: TUTOR_IMAGE,
    AGENT_MEMORY: '256m',
    UPSTREAM_TIMEOUT_MS: '20000',
    UPSTREAM_QUICK_TIMEOUT: String(QUICK_TIMEOUT_MS),
    HEALTH_RECHECK_TIMEOUT: String(RECHECK_MS),
  };
  gateway = await startTestGateway(env);
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  // A paused container is unpaused first, so removing it cannot trip over the pause.
  for (const c of (await bed?.containers()) ?? []) if (c.State === 'paused') await bed.docker.getContainer(c.Id).unpause().catch(() => {});
  await bed?.cleanup();
  await llm?.stop();
}, 60_000);

const call = (path: string, user: string, init: RequestInit = {}, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: authHeaders(user, headers) });

async function agentOf(user: string) {
  const found = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  expect(found).toHaveLength(1);
  return bed.docker.getContainer(found[0]!.Id);
}

/** Reads SSE blocks until `until` says stop (or the stream ends); returns them as {event, data}. */
async function readEvents(body: ReadableStream<Uint8Array>, until: (events: { event: string; data: string }[]) => Promise<boolean> | boolean) {
  const events: { event: string; data: string }[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  let stopped = false;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop() ?? '';
    for (const block of blocks) {
      events.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data: /^data: (.*)$/m.exec(block)?.[1] ?? '' });
    }
    if (!stopped && (await until(events))) stopped = true;
  }
  return events;
}

describe('hostile identities on the real engine', () => {
  test('invalid identities, a bad Host and traversal are 4xx JSON and leave no container and no data folder', async () => {
    // Student folders only: the gateway keeps its own state under dot folders meanwhile.
    const folders = async () => new Set((await readdir(bed.dataDir)).filter((name) => !name.startsWith('.')));
    const before = await folders();
    const containersBefore = (await bed.containers()).length;
    const hostile = [
      // What fetch can put in a header: printable ASCII.
      ...INVALID_EMAILS.filter((e) => /^[\x20-\x7e]+$/.test(e) && e.trim() !== '').slice(0, 30).map((e) => call('/memory', e)),
      // fetch itself refuses TRACE and CONNECT; PROPFIND is as far from the agent contract.
      fetch(`${gateway.url}/files`, { headers: authHeaders(email('nobody')), method: 'PROPFIND' }),
      call('/files/%252e%252e/%252e%252e/etc', email('climber')),
      call(`/files/${'a/'.repeat(3_000)}`, email('deep')),
    ];
    for (const res of await Promise.all(hostile)) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(((await res.json()) as { code: string }).code.length).toBeGreaterThan(0);
    }
    expect((await bed.containers()).length).toBe(containersBefore);
    expect(await folders()).toEqual(before);
  }, 60_000);
});

describe('agent faults on the real engine', () => {
  test('a paused agent: a stream in flight ends with agent_paused, new requests get 503 agent_paused at once (also after a gateway restart), another student is served, unpause serves again with the question kept', async () => {
    const paused = email('paused');
    const other = email('other');
    expect((await call('/memory', paused)).status).toBe(200);
    expect((await call('/memory', other)).status).toBe(200);
    const container = await agentOf(paused);
    const question = `What is a lever? (${run})`;
    const res = await call('/chat', paused, { method: 'POST', body: JSON.stringify({ message: question }) }, { 'Content-Type': 'application/json', Accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    let pausedAt = 0;
    try {
      const events = await readEvents(res.body!, async (seen) => {
        if (pausedAt || !seen.some((e) => e.event === 'delta')) return false;
        pausedAt = performance.now();
        await container.pause();
        return true;
      });
      // The stream ended on the engine's pause event, not on a deadline (UPSTREAM_TIMEOUT_MS is 20 s here).
      const endedMs = performance.now() - pausedAt;
      expect(endedMs).toBeLessThan(QUICK_TIMEOUT_MS);
      expect(events.some((e) => e.event === 'done')).toBe(false);
      const last = events.at(-1)!;
      expect(last.event).toBe('error');
      expect(JSON.parse(last.data)).toMatchObject({ code: 'agent_paused' });

      let started = performance.now();
      const refused = await call('/files', paused);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(((await refused.json()) as { code: string }).code).toBe('agent_paused');
      const refusedMs = performance.now() - started;
      expect(refusedMs).toBeLessThan(RECHECK_MS);
      console.log(`paused mid-stream: the stream ended ${Math.round(endedMs)} ms after the pause began; a new request was refused in ${Math.round(refusedMs)} ms`);

      started = performance.now();
      expect((await call('/files', other)).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(QUICK_TIMEOUT_MS);

      // A new gateway finds the container frozen (State.Paused) and neither waits on it nor replaces it.
      await gateway.stop();
      gateway = await startTestGateway(env);
      started = performance.now();
      const afterRestart = await call('/files', paused);
      expect(afterRestart.status).toBe(503);
      expect(((await afterRestart.json()) as { code: string }).code).toBe('agent_paused');
      expect(performance.now() - started).toBeLessThan(RECHECK_MS);
      expect((await bed.containers([`${LABELS.userId}=${identityFor(paused).id}`]))[0]!.Id).toBe((await container.inspect()).Id);
    } finally {
      if (pausedAt) await container.unpause();
    }
    // Unpaused, it serves again as soon as the engine's event arrives, and the question was kept.
    let sessions = await call('/sessions', paused);
    for (let tries = 0; sessions.status === 503 && tries < 50; tries += 1) {
      await Bun.sleep(100);
      sessions = await call('/sessions', paused);
    }
    expect(sessions.status).toBe(200);
    const body = (await sessions.json()) as { sessions: { messages: { role: string; content: string }[] }[] };
    expect(body.sessions.flatMap((s) => s.messages)).toContainEqual(expect.objectContaining({ role: 'user', content: question }));
  }, 120_000);

  test('an agent killed mid-answer: the client gets an SSE error event agent_lost, and the question is in the session after a restart', async () => {
    const student = email('killed');
    expect((await call('/memory', student)).status).toBe(200);
    const container = await agentOf(student);
    const question = `What is a photon? (${run})`;
    const res = await call('/chat', student, { method: 'POST', body: JSON.stringify({ message: question }) }, { 'Content-Type': 'application/json', Accept: 'text/event-stream' });
    expect(res.status).toBe(200);
    let killed = false;
    const events = await readEvents(res.body!, async (seen) => {
      if (killed || !seen.some((e) => e.event === 'delta')) return false;
      killed = true;
      await container.kill();
      return true;
    });
    expect(killed).toBe(true);
    expect(events.some((e) => e.event === 'done')).toBe(false);
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ code: 'agent_lost' });

    // The next request starts the agent again (or finds Docker's restart of it) and reads the session.
    const sessions = await call('/sessions', student);
    expect(sessions.status).toBe(200);
    const body = (await sessions.json()) as { sessions: { messages: { role: string; content: string }[] }[] };
    const messages = body.sessions.flatMap((s) => s.messages);
    expect(messages).toContainEqual(expect.objectContaining({ role: 'user', content: question }));
  }, 120_000);
});
