import { describe, expect, test } from 'bun:test';
import { fromStored, NEW_SESSION_TITLE, sessionsReducer, type SessionsState } from '../components/sessions.ts';
import { ApiError, newSessionId } from '../lib/client/api.ts';
import { isOwnFile } from '../lib/client/files.ts';
import { whileStarting } from '../lib/client/retry.ts';
import { normalizeMath } from '../lib/client/math.ts';
import { readSse } from '../lib/client/sse.ts';

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readSse(stream)) events.push(event);
  return events;
}

describe('reading server-sent events', () => {
  test('reassembles events split across chunks, even inside a multi-byte character', async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"π ≈ 3.14"}\n\nevent: done\ndata: {"response":"π"}\n\n');
    const cut = bytes.indexOf(0xcf) + 1;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    expect(await collect(stream)).toEqual([
      { event: 'delta', data: '{"text":"π ≈ 3.14"}' },
      { event: 'done', data: '{"response":"π"}' },
    ]);
  });

  test('ignores comments, joins multi-line data and defaults the event name', async () => {
    expect(await collect(streamOf(': keep-alive\n\n', 'data: a\r\ndata: b\r\n\r\n'))).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});

describe('math in answers', () => {
  test('\\( \\) and \\[ \\] become the dollar delimiters remark-math understands', () => {
    expect(normalizeMath('Inline \\(a^2\\) and \\[ b^2 \\]')).toBe('Inline $a^2$ and \n$$\nb^2\n$$\n');
  });

  test('code is left exactly as written', () => {
    const code = 'Use `\\(x\\)` or\n```tex\n\\[ y \\]\n```';
    expect(normalizeMath(code)).toBe(code);
  });
});

describe('session state', () => {
  const empty: SessionsState = { sessions: [{ id: 'a', title: NEW_SESSION_TITLE, messages: [] }], activeId: 'a' };

  test('a new session’s first message becomes its title', () => {
    const state = sessionsReducer(empty, { type: 'append', sessionId: 'a', messages: [{ id: '1', role: 'user', content: 'Explain the chain rule\nplease' }] });
    expect(state.sessions[0]!.title).toBe('Explain the chain rule');
  });

  test('closing the active tab activates its neighbour', () => {
    let state = sessionsReducer(empty, { type: 'add', session: { id: 'b', title: 'B', messages: [] } });
    state = sessionsReducer(state, { type: 'add', session: { id: 'c', title: 'C', messages: [] } });
    state = sessionsReducer(state, { type: 'activate', id: 'b' });
    expect(sessionsReducer(state, { type: 'remove', id: 'b' }).activeId).toBe('c');
  });

  test('a stored session keeps only the student’s and the tutor’s messages', () => {
    const session = fromStored({
      session_id: 's',
      messages: [
        { id: 1, role: 'user', content: 'Hi' },
        { id: 2, role: 'tool', content: 'search results' },
        { id: 3, role: 'assistant', content: 'Hello!' },
      ],
    });
    expect(session.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(session.title).toBe('Hi');
  });

  test('failed and stopped answers come back with their status; a failure keeps its question', () => {
    const session = fromStored({
      id: '0b6f3c52-1f3e-4b8e-9a57-7d2a8b1c9e10',
      title: 'Renamed',
      messages: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: '', status: 'error', error: 'The AI model did not answer.' },
        { role: 'user', content: 'Q2', images: ['files_uploaded/photo.png', 7] },
        { role: 'assistant', content: 'Half an ans', status: 'stopped' },
      ],
    });
    expect(session.id).toBe('0b6f3c52-1f3e-4b8e-9a57-7d2a8b1c9e10');
    expect(session.title).toBe('Renamed');
    expect(session.messages.map((m) => [m.role, m.status, m.content])).toEqual([
      ['user', undefined, 'Q1'],
      ['assistant', 'error', ''],
      ['user', undefined, 'Q2'],
      ['assistant', 'stopped', 'Half an ans'],
    ]);
    expect(session.messages[1]).toMatchObject({ error: 'The AI model did not answer.', stored: true });
    expect(session.messages[2]!.images).toEqual(['files_uploaded/photo.png']);
  });

  test('the real nanobot’s "Sorry, I encountered an error" reply is kept as the answer, marked failed', () => {
    const session = fromStored({ session_id: 'c0ffee00c0ffee00c0ffee00c0ffee00', messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'Sorry, I encountered an error: boom' }] });
    expect(session.id).toBe('c0ffee00c0ffee00c0ffee00c0ffee00');
    expect(session.messages[1]).toMatchObject({ content: 'Sorry, I encountered an error: boom', status: 'error' });
  });

  test('truncating drops a message and everything after it', () => {
    const state = sessionsReducer(
      { sessions: [{ id: 'a', title: 'A', messages: ['1', '2', '3'].map((id) => ({ id, role: 'user' as const, content: id })) }], activeId: 'a' },
      { type: 'truncate', sessionId: 'a', fromMessageId: '2' },
    );
    expect(state.sessions[0]!.messages.map((m) => m.id)).toEqual(['1']);
  });
});

describe('speaking the real agent’s dialect', () => {
  test('new session ids are dashed version-4 UUIDs, even without randomUUID (plain http)', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(newSessionId()).toMatch(uuid);
    const original = crypto.randomUUID;
    Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      expect(newSessionId()).toMatch(uuid);
    } finally {
      Object.defineProperty(crypto, 'randomUUID', { value: original, configurable: true });
    }
  });

  test('the files panel shows uploads and notes, never persona, memory or session files', () => {
    const listed = ['AGENTS.md', 'SOUL.md', 'USER.md', 'memory/MEMORY.md', 'sessions/x.jsonl', 'files_uploaded/a.pdf', 'notes/b.md'];
    expect(listed.filter(isOwnFile)).toEqual(['files_uploaded/a.pdf', 'notes/b.md']);
  });
});

describe('waiting while the tutor starts', () => {
  test('retries "starting" after Retry-After, then returns the answer', async () => {
    let calls = 0;
    let told = 0;
    const result = await whileStarting(
      async () => {
        calls += 1;
        if (calls < 3) throw new ApiError('starting', 'starting', 0.01);
        return 'answer';
      },
      { onStarting: () => (told += 1) },
    );
    expect([result, calls, told]).toEqual(['answer', 3, 2]);
  });

  test('gives up on any other error at once, and on "starting" once out of patience', async () => {
    let calls = 0;
    const failing = whileStarting(async () => {
      calls += 1;
      throw new ApiError('no', 'failed');
    });
    await expect(failing).rejects.toMatchObject({ code: 'failed' });
    const impatient = whileStarting(
      async () => {
        throw new ApiError('starting', 'starting', 0.01);
      },
      { patienceMs: 50 },
    );
    await expect(impatient).rejects.toMatchObject({ code: 'starting' });
    expect(calls).toBe(1);
  });

  test('the time the gateway held a request before its first "starting" does not use up the patience', async () => {
    let calls = 0;
    const result = await whileStarting(
      async () => {
        calls += 1;
        if (calls === 1) {
          await Bun.sleep(80);
          throw new ApiError('starting', 'starting', 0.01);
        }
        return 'answer';
      },
      { patienceMs: 50 },
    );
    expect([result, calls]).toEqual(['answer', 2]);
  });
});
