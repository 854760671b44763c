/**
 * The web app's routes against the real reference agent (in-process, fake LLM), not the fake
 * gateway: what the browser relies on from the contract (capabilities, a failed turn kept with its
 * question, a retry that replaces it, a renamed session) holds for the agent as built.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestAgent, fakeConfig, type TestAgent } from '../../agent/test/helpers.ts';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { handleCapabilities } from '../lib/api/capabilities.ts';
import { handleChat } from '../lib/api/chat.ts';
import type { ApiHandler } from '../lib/api/handler.ts';
import { agentRoute } from './agent-route.ts';
import { handleListSessions, handleRenameSession } from '../lib/api/sessions.ts';
import { fromStored } from '../components/sessions.ts';

let llm: FakeLlm;
/** While set, the fake LLM answers every request with a provider error (400: the SDKs do not retry it). */
let failing = false;
let agent: TestAgent;
const SESSION = '5f0c7a3e-2b1d-4c8e-9f6a-0d3b2c1a4e5f';

beforeAll(async () => {
  llm = startFakeLlm({ port: 0, hostname: '127.0.0.1', respond: () => (failing ? { error: { status: 400, message: 'provider refused' } } : undefined) });
  agent = await startTestAgent({ config: fakeConfig(llm.url) });
});

afterAll(async () => {
  await agent?.stop();
  await llm?.stop();
});

const route = (handler: ApiHandler) => agentRoute(handler, () => agent.url, 'ada');

const chat = (body: unknown) =>
  route(handleChat)(
    new Request('http://web.test/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Session-ID': SESSION }, body: JSON.stringify(body) }),
  );

async function session() {
  const { sessions } = await (await route(handleListSessions)(new Request('http://web.test/api/sessions'))).json();
  return fromStored(sessions.find((s: { session_id?: string; id?: string }) => (s.session_id ?? s.id) === SESSION));
}

describe('the web routes against the reference agent', () => {
  test('it offers downloads, session renames and the chat options', async () => {
    const capabilities = await (await route(handleCapabilities)(new Request('http://web.test/api/capabilities'))).json();
    expect(capabilities).toMatchObject({ downloads: true, renameSessions: true, chatOptions: true });
  });

  test('a failed answer is kept with its question; a retry with replaceLastTurn leaves the question once', async () => {
    failing = true;
    const failed = await chat({ message: 'Why is the sky blue?' });
    failing = false;
    expect(await failed.json()).toMatchObject({ code: 'failed', reason: 'llm_failed' });
    const kept = await session();
    expect(kept.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', undefined],
      ['assistant', 'error'],
    ]);
    expect(kept.messages[1]!.stored).toBe(true);
    await (await chat({ message: 'Why is the sky blue?', replaceLastTurn: true })).text();
    const retried = await session();
    expect(retried.messages.filter((m) => m.content === 'Why is the sky blue?')).toHaveLength(1);
    expect(retried.messages.at(-1)!.status).toBeUndefined();
  });

  test('a renamed session comes back with its title', async () => {
    const response = await route(handleRenameSession)(
      new Request('http://web.test/api/sessions', { method: 'PATCH', headers: { 'Content-Type': 'application/json', 'X-Session-ID': SESSION }, body: JSON.stringify({ title: 'Light' }) }),
    );
    expect(response.status).toBe(200);
    expect((await session()).title).toBe('Light');
  });
});
