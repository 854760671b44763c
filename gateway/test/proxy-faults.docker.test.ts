/**
 * Two faults of an agent on the real engine, with the reference agent image and the fake LLM behind
 * the relay: an agent paused (its student gets a timely error, another student is unaffected) and an
 * agent killed in the middle of a streamed answer (an SSE `error` event, and the question is kept).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFile } from 'node:fs/promises';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { buildImage } from '../../scripts/lib/images.ts';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

const TUTOR_IMAGE = 'nbtest-faults-tutor:latest';
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;
const QUICK_TIMEOUT_MS = 2_000;
const RECHECK_MS = 500;

let bed: Awaited<ReturnType<typeof createTestBed>>;
let llm: FakeLlm;
let gateway: TestGateway;

beforeAll(async () => {
  bed = await createTestBed();
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TUTOR_IMAGE, quiet: true });
  // Slow enough that the answer is still streaming when the test kills the agent.
  llm = startFakeLlm({ chunkDelayMs: 400 });
  await writeFile(bed.env.CONFIG_PATH, JSON.stringify({
    providers: { custom: { apiKey: 'sk-faults-test', apiBase: llm.url } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 256, temperature: 0, memoryWindow: 50, maxToolIterations: 4 } },
  }));
  gateway = await startTestGateway({
    ...bed.env,
    AGENT_IMAGE: TUTOR_IMAGE,
    AGENT_MEMORY: '256m',
    UPSTREAM_TIMEOUT_MS: '20000',
    UPSTREAM_QUICK_TIMEOUT: String(QUICK_TIMEOUT_MS),
    HEALTH_RECHECK_TIMEOUT: String(RECHECK_MS),
  });
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

describe('agent faults on the real engine', () => {
  test('a paused agent: its student gets a 504 within the quick timeout, then agent_unresponsive at once; another student is served meanwhile', async () => {
    const paused = email('paused');
    const other = email('other');
    expect((await call('/memory', paused)).status).toBe(200);
    expect((await call('/memory', other)).status).toBe(200);
    const container = await agentOf(paused);
    await container.pause();
    try {
      let started = performance.now();
      const first = await call('/files', paused);
      expect(first.status).toBe(504);
      expect(((await first.json()) as { code: string }).code).toBe('upstream_timeout');
      expect(performance.now() - started).toBeLessThan(QUICK_TIMEOUT_MS * 3);

      started = performance.now();
      const second = await call('/files', paused);
      expect(second.status).toBe(504);
      expect(((await second.json()) as { code: string }).code).toBe('agent_unresponsive');
      expect(performance.now() - started).toBeLessThan(QUICK_TIMEOUT_MS);

      started = performance.now();
      expect((await call('/files', other)).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(QUICK_TIMEOUT_MS);
    } finally {
      await container.unpause();
    }
    // Unpaused, it answers its re-check and is used again.
    expect((await call('/files', paused)).status).toBe(200);
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
