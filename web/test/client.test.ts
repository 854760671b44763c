import { describe, expect, test } from 'bun:test';
import { fromStored, NEW_SESSION_TITLE, sessionsReducer, type SessionsState } from '../components/sessions.ts';
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
});
