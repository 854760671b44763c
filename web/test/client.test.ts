import { describe, expect, test } from 'bun:test';
import { fromStored, NEW_SESSION_TITLE, sessionsReducer, type SessionsState } from '../components/sessions.ts';
import { stillFollowing } from '../components/ChatView.tsx';
import { MESSAGES } from '../lib/api/shared.ts';
import { ApiError, newSessionId, streamChat } from '../lib/client/api.ts';
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

  test('dollar amounts stay text; `$…$` maths, escaped dollars and `$$…$$` inside a line are kept', () => {
    expect(normalizeMath('Price is $5 and $10 dollars.')).toBe('Price is \\$5 and \\$10 dollars.');
    expect(normalizeMath('It costs $5, so $2x + 3 = 7$ gives $x = 2$.')).toBe('It costs \\$5, so $2x + 3 = 7$ gives $x = 2$.');
    expect(normalizeMath('Already \\$5, and $$a^2$$ inline')).toBe('Already \\$5, and $$a^2$$ inline');
  });

  test('`$$…$$` alone on a line becomes a display formula', () => {
    expect(normalizeMath('The area:\n$$\\int_0^1 x\\,dx$$\nso')).toBe('The area:\n$$\n\\int_0^1 x\\,dx\n$$\nso');
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
        { role: 'assistant', content: '', status: 'error', error: 'The AI model did not answer.', code: 'llm_failed' },
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
    expect(session.messages[1]).toMatchObject({ error: MESSAGES.modelFailed, stored: true });
    expect(session.messages[2]!.images).toEqual(['files_uploaded/photo.png']);
  });

  test('the real nanobot’s "Sorry, I encountered an error" reply is kept as the answer, marked failed', () => {
    const session = fromStored({ session_id: 'c0ffee00c0ffee00c0ffee00c0ffee00', messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'Sorry, I encountered an error: boom' }] });
    expect(session.id).toBe('c0ffee00c0ffee00c0ffee00c0ffee00');
    expect(session.messages[1]).toMatchObject({ content: 'Sorry, I encountered an error: boom', status: 'error' });
  });

  test('a stored failure shows the student the sentence for its code, never the provider’s own text', () => {
    const failed = (code: string | undefined, error: string) =>
      fromStored({ id: 's', messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: '', status: 'error', error, code }] }).messages[1]!.error;
    expect(failed('llm_failed', 'The custom provider failed: 500 upstream exploded')).toBe(MESSAGES.modelFailed);
    expect(failed('llm_timeout', 'The custom provider did not start answering within 60 seconds.')).toBe(MESSAGES.tooSlow);
    expect(failed('no_provider', 'no LLM provider configured')).toBe(MESSAGES.noModel);
    expect(failed('no_vision', 'The model cannot read images (sk-…abcd)')).toBe(MESSAGES.noVision);
    expect(failed('llm_rate_limited', 'Your tutor is already working on several answers')).toBe(MESSAGES.tooFast);
    expect(failed('internal_error', 'The tutor failed unexpectedly. Try again.')).toBe(MESSAGES.failed);
    expect(failed(undefined, 'Incorrect API key provided: sk-proj-…')).toBe(MESSAGES.failed);
    // The relay writes its refusal for students, with when the allowance resets.
    const quota = "You have used today's tutoring allowance; it resets at 2026-11-27 00:00 UTC.";
    expect(failed('llm_quota', quota)).toBe(quota);
  });

  test('a question without an answer yet is shown as it is after a reload, not as failed: the tutor may still be answering it', () => {
    const session = fromStored({ id: 's', messages: [{ role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'SLOWANSWER pause me' }] });
    // A Retry here could ask a question twice that the tutor is answering in another tab.
    expect(session.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', undefined],
      ['assistant', undefined],
      ['user', undefined],
    ]);
  });

  test('clearing a renamed session leaves a new, empty tab, as the agent deleted the session with its title', () => {
    const renamed: SessionsState = { sessions: [{ id: 'a', title: 'My renamed', messages: [{ id: '1', role: 'user', content: 'Hi' }] }], activeId: 'a' };
    const cleared = sessionsReducer(renamed, { type: 'clear', sessionId: 'a' });
    expect(cleared.sessions[0]).toEqual({ id: 'a', title: NEW_SESSION_TITLE, messages: [] });
    // The next question names it again, as it does a new tab.
    const asked = sessionsReducer(cleared, { type: 'append', sessionId: 'a', messages: [{ id: '2', role: 'user', content: 'Fresh start' }] });
    expect(asked.sessions[0]!.title).toBe('Fresh start');
  });

  test('truncating drops a message and everything after it', () => {
    const state = sessionsReducer(
      { sessions: [{ id: 'a', title: 'A', messages: ['1', '2', '3'].map((id) => ({ id, role: 'user' as const, content: id })) }], activeId: 'a' },
      { type: 'truncate', sessionId: 'a', fromMessageId: '2' },
    );
    expect(state.sessions[0]!.messages.map((m) => m.id)).toEqual(['1']);
  });
});

describe('an answer that fails midway', () => {
  test('an `error` event gives the student the sentence for its code, not the agent’s text', async () => {
    const original = globalThis.fetch;
    const events = 'event: delta\ndata: {"text":"Half"}\n\nevent: error\ndata: {"error":"The custom provider failed: 500 upstream exploded","code":"llm_failed"}\n\n';
    globalThis.fetch = (async () => new Response(streamOf(events), { headers: { 'Content-Type': 'text/event-stream' } })) as unknown as typeof fetch;
    try {
      const failure = await streamChat({ message: 'Q' }, 's', () => {}, new AbortController().signal).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure).toMatchObject({ message: MESSAGES.modelFailed, reason: 'llm_failed', stored: true });
    } finally {
      globalThis.fetch = original;
    }
  });
});

test('an answer whose stream breaks off is a student sentence, and the question counts as held by the agent (Retry replaces it)', async () => {
  const original = globalThis.fetch;
  let pulls = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls += 1;
      if (pulls === 1) controller.enqueue(new TextEncoder().encode('event: delta\ndata: {"text":"Half"}\n\n'));
      else controller.error(new TypeError('network error: ECONNRESET'));
    },
  });
  globalThis.fetch = (async () => new Response(broken, { headers: { 'Content-Type': 'text/event-stream' } })) as unknown as typeof fetch;
  try {
    const seen: string[] = [];
    const failure = await streamChat({ message: 'Q' }, 's', (text) => seen.push(text), new AbortController().signal).catch((error: unknown) => error);
    expect(seen).toEqual(['Half']);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ message: 'The answer was cut off. Please try again.', code: 'unavailable', stored: true });
    expect((failure as Error).message).not.toContain('ECONNRESET');
  } finally {
    globalThis.fetch = original;
  }
});

test('an `error` event mid-answer means the agent holds the question whatever its code; the gateway losing the agent reads "cut off"', async () => {
  const original = globalThis.fetch;
  try {
    for (const [code, sentence] of [['agent_lost', MESSAGES.cutOff], ['agent_paused', MESSAGES.failed], ['internal_error', MESSAGES.failed]] as const) {
      const events = `event: delta\ndata: {"text":"Half"}\n\nevent: error\ndata: {"error":"The agent stopped answering. Your message was kept.","code":"${code}"}\n\n`;
      globalThis.fetch = (async () => new Response(streamOf(events), { headers: { 'Content-Type': 'text/event-stream' } })) as unknown as typeof fetch;
      const failure = await streamChat({ message: 'Q' }, 's', () => {}, new AbortController().signal).catch((error: unknown) => error);
      expect(failure).toMatchObject({ message: sentence, reason: code, stored: true });
    }
  } finally {
    globalThis.fetch = original;
  }
});

describe('following a streamed answer', () => {
  test('the app’s own scroll to the end, reported after the answer grew a lot, keeps following', () => {
    // The audit's scroll event: the answer had grown by 3152 px since the scroll it reports.
    expect(stillFollowing(true, 0, { scrollTop: 499, scrollHeight: 4175, clientHeight: 524 })).toBe(true);
  });

  test('the student scrolling up stops it; back at the end resumes it', () => {
    expect(stillFollowing(true, 3000, { scrollTop: 2500, scrollHeight: 4175, clientHeight: 524 })).toBe(false);
    expect(stillFollowing(false, 2500, { scrollTop: 2800, scrollHeight: 4175, clientHeight: 524 })).toBe(false);
    expect(stillFollowing(false, 2800, { scrollTop: 3600, scrollHeight: 4175, clientHeight: 524 })).toBe(true);
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
