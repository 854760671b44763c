import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm, type FakeReply } from './fake-llm.ts';
import { eventually, fakeConfig, postJson, startTestAgent, type TestAgent } from './helpers.ts';

type Memory = { memory: string; history: string };

let llm: FakeLlm;
let agent: TestAgent;
let script: FakeReply[] = [];

beforeAll(async () => {
  llm = startFakeLlm({ respond: () => script.shift() });
  agent = await startTestAgent({ config: fakeConfig(llm.url, { memoryWindow: 4 }) });
});
afterEach(async () => {
  script = [];
  llm.requests.length = 0;
  await writeFile(join(agent.workspace, 'memory', 'HISTORY.md'), '');
});
afterAll(async () => {
  await agent.stop();
  await llm.stop();
});

const readMemory = async () => (await (await agent.fetch('/memory')).json()) as Memory;
const sessionLines = async (file: string) =>
  (await readFile(join(agent.home, 'sessions', file), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('memory consolidation', () => {
  test('summarises older messages into HISTORY.md and MEMORY.md once a session passes memoryWindow', async () => {
    const headers = { 'X-User-ID': 'grower', 'X-Session-ID': 's' };
    for (const message of ['Explain integrals', 'And derivatives?', 'And limits?']) {
      await agent.fetch('/chat', postJson({ message }, headers));
    }
    const memory = await eventually(async () => {
      const current = await readMemory();
      expect(current.history).toContain('The student asked about: Explain integrals');
      return current;
    });
    expect(memory.history).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}\] /);
    expect(memory.memory).toContain('- Studied: Explain integrals');

    const consolidation = llm.requests.find((r) => r.tools?.some((t) => t.function.name === 'save_memory'));
    const prompt = consolidation?.messages.at(-1)?.content ?? '';
    expect(prompt).toContain('USER: Explain integrals');
    expect(prompt).toContain('USER: And derivatives?');
    // The newer half of the window stays in the session.
    expect(prompt).not.toContain('And limits?');

    const lines = await eventually(async () => {
      const current = await sessionLines('http_grower_s.jsonl');
      expect(current[0]?.last_consolidated).toBe(4);
      return current;
    });
    expect(lines).toHaveLength(7);

    await agent.fetch('/chat', postJson({ message: 'And series?' }, headers));
    const next = llm.requests.at(-1);
    expect(next?.messages.map((m) => m.content).slice(1, 3)).toEqual(['And limits?', expect.stringContaining('step by step')]);
  });

  test('starts a new conversation on DELETE /conversations and consolidates the old one', async () => {
    const headers = { 'X-User-ID': 'clearer', 'X-Session-ID': 'tab' };
    await agent.fetch('/chat', postJson({ message: 'Teach me vectors' }, headers));
    const response = await agent.fetch('/conversations', { method: 'DELETE', headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'cleared' });
    expect((await readMemory()).history).toContain('The student asked about: Teach me vectors');
    expect(await (await agent.fetch('/sessions', { headers })).json()).toEqual({ sessions: [] });

    await agent.fetch('/chat', postJson({ message: 'Fresh start' }, headers));
    expect(llm.requests.at(-1)?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    // The consolidated memory reaches the next system prompt.
    expect(llm.requests.at(-1)?.messages[0]?.content).toContain('- Studied: Teach me vectors');
  });

  test('consolidates a session into memory on DELETE /sessions before deleting it, leaving failed answers out', async () => {
    const headers = { 'X-User-ID': 'closer', 'X-Session-ID': 'tab-to-close' };
    await agent.fetch('/chat', postJson({ message: 'Teach me matrices' }, headers));
    script = [{ error: { status: 400, message: 'SECRET-FAILURE-TEXT' } }];
    await agent.fetch('/chat', postJson({ message: 'And determinants?' }, headers));
    const response = await agent.fetch('/sessions', { method: 'DELETE', headers });
    expect(await response.json()).toEqual({ status: 'deleted', session_id: 'tab-to-close' });
    expect((await readMemory()).history).toContain('The student asked about: Teach me matrices');
    const consolidation = llm.requests.at(-1)?.messages.at(-1)?.content;
    expect(consolidation).toContain('USER: And determinants?');
    expect(consolidation).not.toContain('SECRET-FAILURE-TEXT');
    expect(await (await agent.fetch('/sessions', { headers })).json()).toEqual({ sessions: [] });
  });

  test('keeps a tool edit of MEMORY.md made by another session while a consolidation waits for the model', async () => {
    const memoryFile = join(agent.workspace, 'memory', 'MEMORY.md');
    const before = '# Long-term Memory\n\n## Preferences\n\n(none yet)\n';
    await writeFile(memoryFile, before);
    const clearing = { 'X-User-ID': 'racer', 'X-Session-ID': 'old' };
    await agent.fetch('/chat', postJson({ message: 'Teach me fractions' }, clearing));

    const history_entry = '[2026-01-01 10:00] The student learnt fractions.';
    const consolidating = Promise.withResolvers<void>();
    script = [{ holdUntil: consolidating.promise, toolCalls: [{ name: 'save_memory', arguments: { history_entry, memory_update: `${before}\n## Progress\n\n- Studied: fractions\n` } }] }];
    const cleared = agent.fetch('/conversations', { method: 'DELETE', headers: clearing });
    await eventually(async () => expect(llm.requests.some((r) => r.tools?.some((t) => t.function.name === 'save_memory'))).toBe(true));

    script = [
      { toolCalls: [{ name: 'edit_file', arguments: { path: 'memory/MEMORY.md', old_text: '(none yet)', new_text: '- Prefers short answers' } }] },
      { text: 'Noted.' },
    ];
    const answer = agent.fetch('/chat', postJson({ message: 'Keep answers short, please' }, { 'X-User-ID': 'racer', 'X-Session-ID': 'new' }));
    // The model has asked for the edit while the consolidation still waits for its own answer.
    await eventually(async () => expect(llm.requests.some((r) => JSON.stringify(r.messages).includes('Keep answers short'))).toBe(true));
    consolidating.resolve();
    expect(((await (await answer).json()) as { response: string }).response).toBe('Noted.');
    expect((await cleared).status).toBe(200);

    const memory = await readFile(memoryFile, 'utf8');
    expect(memory).toContain('- Studied: fractions');
    expect(memory).toContain('- Prefers short answers');
  }, 20_000);

  test('archives the raw messages in HISTORY.md when the LLM cannot summarise', async () => {
    const headers = { 'X-User-ID': 'rawuser' };
    await agent.fetch('/chat', postJson({ message: 'Keep this question' }, headers));
    script = [{ error: { status: 400, message: 'summary failed' } }];
    const response = await agent.fetch('/conversations', { method: 'DELETE', headers });
    expect(response.status).toBe(200);
    const { history } = await readMemory();
    expect(history).toContain('[RAW] 2 messages');
    expect(history).toContain('USER: Keep this question');
  });
});

describe('without an LLM provider', () => {
  let offline: TestAgent;
  beforeAll(async () => {
    offline = await startTestAgent();
  });
  afterAll(() => offline.stop());

  test('clearing a conversation written by nanobot archives it verbatim', async () => {
    const nanobotSession = [
      { _type: 'metadata', key: 'http:ada', created_at: '2026-01-01T10:00:00', updated_at: '2026-01-01T10:05:00', metadata: {}, last_consolidated: 0 },
      { role: 'user', content: 'What is a prime?', timestamp: '2026-01-01T10:00:00' },
      { role: 'assistant', content: 'A number with exactly two divisors.', timestamp: '2026-01-01T10:00:05' },
    ];
    await writeFile(join(offline.home, 'sessions', 'http_ada.jsonl'), nanobotSession.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const listed = (await (await offline.fetch('/sessions', { headers: { 'X-User-ID': 'ada' } })).json()) as {
      sessions: Array<{ session_id: string; messages: unknown[] }>;
    };
    expect(listed.sessions.map((s) => [s.session_id, s.messages.length])).toEqual([['default', 2]]);

    const response = await offline.fetch('/conversations', { method: 'DELETE', headers: { 'X-User-ID': 'ada' } });
    expect(await response.json()).toEqual({ status: 'cleared' });
    const { history } = (await (await offline.fetch('/memory')).json()) as Memory;
    expect(history).toContain('[2026-01-01 10:00] USER: What is a prime?');
    expect(history).toContain('ASSISTANT: A number with exactly two divisors.');
  });
});
