import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_ANSWER_INTRO, startFakeLlm, type FakeLlm, type FakeReply, type FakeRequest } from './fake-llm.ts';
import { eventually, fakeConfig, postJson, readSse, startTestAgent, type TestAgent } from './helpers.ts';

type Chat = { response: string };
type Session = {
  session_id: string;
  title: string;
  messages: Array<{ id: string; role: string; content: string; timestamp: string; status?: string; error?: string; code?: string; images?: string[] }>;
};

let llm: FakeLlm;
let agent: TestAgent;
/** Replies for the next requests, in order; reset after each test. */
let script: FakeReply[] = [];
let respond: ((request: FakeRequest) => FakeReply | undefined) | undefined;

beforeAll(async () => {
  llm = startFakeLlm({ respond: (request) => script.shift() ?? respond?.(request) });
  agent = await startTestAgent({ config: fakeConfig(llm.url) });
});
afterEach(() => {
  script = [];
  respond = undefined;
  llm.requests.length = 0;
});
afterAll(async () => {
  await agent.stop();
  await llm.stop();
});

const userHeaders = (session?: string) => ({ 'X-User-ID': 'ada_example_edu-0123456789', ...(session ? { 'X-Session-ID': session } : {}) });

describe('chat', () => {
  test('answers a message with the model reply as JSON', async () => {
    const response = await agent.fetch('/chat', postJson({ message: 'What is energy?' }, userHeaders()));
    expect(response.status).toBe(200);
    const { response: answer } = (await response.json()) as Chat;
    expect(answer).toContain(DEFAULT_ANSWER_INTRO);
    expect(answer).toContain('$E = mc^2$');
    expect(llm.requests[0]?.model).toBe('fake-tutor');
  });

  test('sends a tutor system prompt built from the workspace files and memory', async () => {
    await agent.fetch('/chat', postJson({ message: 'hello' }, userHeaders('prompt')));
    const system = llm.requests[0]?.messages[0];
    expect(system?.role).toBe('system');
    expect(system?.content).toContain('## AGENTS.md');
    expect(system?.content).toContain('step by step');
    expect(system?.content).toContain('## SOUL.md');
    expect(system?.content).toContain('## Long-term Memory');
  });

  test('streams token deltas and then the whole answer as server-sent events', async () => {
    const response = await agent.fetch('/chat', postJson({ message: 'Stream please' }, { ...userHeaders('stream'), Accept: 'text/event-stream' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const events = await readSse(response);
    const deltas = events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(events.at(-1)).toEqual({ event: 'done', data: { response: deltas.join('') } });
    expect(deltas.join('')).toContain('$E = mc^2$');
  });

  test('stores the session as nanobot does: a metadata line, then one message a line', async () => {
    await agent.fetch('/chat', postJson({ message: 'First question about fractions' }, userHeaders('tab-1')));
    await agent.fetch('/chat', postJson({ message: 'Second question' }, userHeaders('tab-1')));
    const text = await readFile(join(agent.home, 'sessions', 'http_ada_example_edu-0123456789_tab-1.jsonl'), 'utf8');
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ _type: 'metadata', key: 'http:ada_example_edu-0123456789:tab-1', last_consolidated: 0 });
    expect(typeof lines[0]?.created_at).toBe('string');
    expect(lines.slice(1).map((l) => [l.role, l.content])).toEqual([
      ['user', 'First question about fractions'],
      ['assistant', expect.stringContaining(DEFAULT_ANSWER_INTRO)],
      ['user', 'Second question'],
      ['assistant', expect.stringContaining(DEFAULT_ANSWER_INTRO)],
    ]);
    // The second request carried the first exchange as history.
    expect(llm.requests[1]?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  test('keeps the default session in http_<user>.jsonl when no X-Session-ID is sent', async () => {
    await agent.fetch('/chat', postJson({ message: 'default session' }, { 'X-User-ID': 'solo-1' }));
    const text = await readFile(join(agent.home, 'sessions', 'http_solo-1.jsonl'), 'utf8');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ _type: 'metadata', key: 'http:solo-1' });
  });

  test('lists the user’s sessions newest first with titles and messages, and deletes one', async () => {
    const headers = { 'X-User-ID': 'lister-1' };
    await agent.fetch('/chat', postJson({ message: 'An older conversation about the derivative of x squared and more words' }, { ...headers, 'X-Session-ID': 'old' }));
    await agent.fetch('/chat', postJson({ message: 'A newer one' }, { ...headers, 'X-Session-ID': 'new' }));
    const { sessions } = (await (await agent.fetch('/sessions', { headers })).json()) as {
      sessions: Array<{ session_id: string; title: string; updated_at: string; messages: Array<{ id: string; role: string; content: string }> }>;
    };
    expect(sessions.map((s) => s.session_id)).toEqual(['new', 'old']);
    expect(sessions[1]?.title.length).toBeLessThanOrEqual(60);
    expect(sessions[1]?.title.startsWith('An older conversation about the derivative')).toBe(true);
    expect(sessions[0]?.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(sessions[0]?.messages[0]).toMatchObject({ content: 'A newer one', id: expect.any(String) });

    const deleted = await agent.fetch('/sessions', { method: 'DELETE', headers: { ...headers, 'X-Session-ID': 'old' } });
    expect(deleted.status).toBe(200);
    const after = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Array<{ session_id: string }> };
    expect(after.sessions.map((s) => s.session_id)).toEqual(['new']);
    // Another user sees none of them.
    expect(await (await agent.fetch('/sessions', { headers: { 'X-User-ID': 'lister-10' } })).json()).toEqual({ sessions: [] });
  });

  test('skips a truncated line in a session file, still lists every session and keeps the good lines when it saves', async () => {
    const headers = { 'X-User-ID': 'torn-1' };
    const sessions = join(agent.home, 'sessions');
    const line = (record: Record<string, unknown>) => JSON.stringify(record);
    await writeFile(
      join(sessions, 'http_torn-1_broken.jsonl'),
      [
        line({ _type: 'metadata', key: 'http:torn-1:broken', created_at: '2026-01-01T10:00:00Z', updated_at: '2026-01-01T10:05:00Z', metadata: { title: 'Broken' }, last_consolidated: 0 }),
        line({ id: 'u1', role: 'user', content: 'What is a limit?', timestamp: '2026-01-01T10:00:00Z' }),
        '{"id":"a1","role":"assistant","content":"A limit is',
        line({ id: 'u2', role: 'user', content: 'And a series?', timestamp: '2026-01-01T10:04:00Z' }),
      ].join('\n') + '\n',
    );
    await agent.fetch('/chat', postJson({ message: 'A healthy session' }, { ...headers, 'X-Session-ID': 'fine' }));

    const response = await agent.fetch('/sessions', { headers });
    expect(response.status).toBe(200);
    const listed = (await response.json()) as { sessions: Array<{ session_id: string; messages: Array<{ id: string }> }> };
    expect(listed.sessions.map((s) => s.session_id)).toEqual(['fine', 'broken']);
    expect(listed.sessions[1]?.messages.map((m) => m.id)).toEqual(['u1', 'u2']);

    await agent.fetch('/chat', postJson({ message: 'Carry on' }, { ...headers, 'X-Session-ID': 'broken' }));
    const saved = (await readFile(join(sessions, 'http_torn-1_broken.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { id?: string; content?: string });
    expect(saved.slice(1, 3).map((m) => m.id)).toEqual(['u1', 'u2']);
    expect(saved.at(-2)?.content).toBe('Carry on');
  });

  test('reads a session nanobot wrote with tool steps: its last_consolidated still marks the same message', async () => {
    const headers = { 'X-User-ID': 'moved-1' };
    // nanobot stores its tool steps as messages, and counts them in last_consolidated: 4 lines, 2 of them tool steps.
    const lines = [
      { _type: 'metadata', key: 'http:moved-1', created_at: '2026-01-01T10:00:00', updated_at: '2026-01-01T10:05:00', metadata: {}, last_consolidated: 4 },
      { role: 'user', content: 'Old question, already in memory', timestamp: '2026-01-01T10:00:00' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'list_dir', arguments: '{}' } }], timestamp: '2026-01-01T10:00:01' },
      { role: 'tool', tool_call_id: 'c1', name: 'list_dir', content: '(no files)', timestamp: '2026-01-01T10:00:02' },
      { role: 'assistant', content: 'Old answer', timestamp: '2026-01-01T10:00:03' },
      { role: 'user', content: 'What is a prime?', timestamp: '2026-01-01T10:04:00' },
      { role: 'assistant', content: 'A number with exactly two divisors.', timestamp: '2026-01-01T10:04:05' },
    ];
    await writeFile(join(agent.home, 'sessions', 'http_moved-1.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

    await agent.fetch('/chat', postJson({ message: 'Is 7 one?' }, headers));
    // The unconsolidated turn reaches the model; the consolidated one and the tool step (an empty assistant message) do not.
    expect(llm.requests[0]?.messages.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'What is a prime?'],
      ['assistant', 'A number with exactly two divisors.'],
      ['user', 'Is 7 one?'],
    ]);
    const saved = (await readFile(join(agent.home, 'sessions', 'http_moved-1.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(saved[0]?.last_consolidated).toBe(2);
    expect(saved.slice(1, 3).map((m) => m.content)).toEqual(['Old question, already in memory', 'Old answer']);
  });

  test('does not send an empty answer back to the model (Anthropic refuses an empty message)', async () => {
    script = [{ text: '' }];
    await agent.fetch('/chat', postJson({ message: 'First' }, userHeaders('empty-answer')));
    await agent.fetch('/chat', postJson({ message: 'Second' }, userHeaders('empty-answer')));
    expect(llm.requests[1]?.messages.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'First'],
      ['user', 'Second'],
    ]);
  });

  test('answers 502 with the provider’s message when the LLM fails', async () => {
    script = [{ error: { status: 401, message: 'Incorrect API key provided' } }];
    const response = await agent.fetch('/chat', postJson({ message: 'hi' }, userHeaders('fail')));
    expect(response.status).toBe(502);
    const { error } = (await response.json()) as { error: string };
    expect(error).toContain('custom provider failed');
    expect(error).toContain('Incorrect API key');
  });

  test('answers a streaming request that fails before any text with a 502 JSON error', async () => {
    script = [{ error: { status: 400, message: 'model not found' } }];
    const response = await agent.fetch('/chat', postJson({ message: 'hi' }, { ...userHeaders('fail-stream'), Accept: 'text/event-stream' }));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: string }).error).toContain('model not found');
  });

  test('ends a stream with an error event when the LLM fails after text was sent', async () => {
    script = [
      { text: 'Let me look at your files first.', toolCalls: [{ name: 'list_dir', arguments: { path: '.' } }] },
      { error: { status: 400, message: 'context length exceeded' } },
    ];
    const response = await agent.fetch('/chat', postJson({ message: 'hi' }, { ...userHeaders('late-fail'), Accept: 'text/event-stream' }));
    expect(response.status).toBe(200);
    const events = await readSse(response);
    const deltas = events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text);
    expect(deltas.join('')).toBe('Let me look at your files first.');
    expect(events.at(-1)?.event).toBe('error');
    expect((events.at(-1)?.data as { error: string }).error).toContain('context length exceeded');
  });

  test('keeps what was streamed, marked stopped, when the client goes away mid-stream', async () => {
    script = [{ text: 'one two three four five six seven eight nine ten eleven twelve', delayMs: 60 }];
    const controller = new AbortController();
    const response = await agent.fetch('/chat', {
      ...postJson({ message: 'leaving early' }, { ...userHeaders('gone'), Accept: 'text/event-stream' }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const saved = await eventually(async () => {
      const { sessions } = (await (await agent.fetch('/sessions', { headers: userHeaders() })).json()) as { sessions: Session[] };
      const session = sessions.find((s) => s.session_id === 'gone');
      expect(session?.messages).toHaveLength(2);
      return session!;
    });
    expect(saved.messages[0]).toMatchObject({ role: 'user', content: 'leaving early' });
    expect(saved.messages[1]).toMatchObject({ role: 'assistant', status: 'stopped' });
    const kept = saved.messages[1]!.content;
    expect(kept.length).toBeGreaterThan(0);
    expect('one two three four five six seven eight nine ten eleven twelve'.startsWith(kept)).toBe(true);
    expect(kept).not.toBe('one two three four five six seven eight nine ten eleven twelve');
    expect((await agent.fetch('/health')).status).toBe(200);
  });

  test('marks an answer stopped when a JSON (non-streaming) client goes away while the model thinks', async () => {
    script = [{ text: 'too late', stallMs: 1500 }];
    const controller = new AbortController();
    const pending = agent.fetch('/chat', { ...postJson({ message: 'never mind' }, userHeaders('gone-json')), signal: controller.signal }).catch(() => undefined);
    await eventually(async () => expect(llm.requests).toHaveLength(1));
    controller.abort();
    await pending;
    const saved = await eventually(async () => {
      const { sessions } = (await (await agent.fetch('/sessions', { headers: userHeaders() })).json()) as { sessions: Session[] };
      const session = sessions.find((s) => s.session_id === 'gone-json');
      expect(session?.messages).toHaveLength(2);
      return session!;
    });
    expect(saved.messages[1]).toMatchObject({ role: 'assistant', content: '', status: 'stopped' });
  });

  test('keeps a failed question in the session with its error, and does not send the failed turn to the model again', async () => {
    const headers = { 'X-User-ID': 'failing-user', 'X-Session-ID': 'only-failures' };
    script = [{ error: { status: 400, message: 'bad request' } }];
    expect((await agent.fetch('/chat', postJson({ message: 'lost?' }, headers))).status).toBe(502);
    const { sessions } = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Session[] };
    // A session whose only turn failed is listed.
    expect(sessions.map((s) => s.session_id)).toEqual(['only-failures']);
    expect(sessions[0]?.title).toBe('lost?');
    expect(sessions[0]?.messages).toEqual([
      { id: expect.any(String), role: 'user', content: 'lost?', timestamp: expect.any(String) },
      {
        id: expect.any(String),
        role: 'assistant',
        content: '',
        timestamp: expect.any(String),
        status: 'error',
        error: expect.stringContaining('bad request'),
        code: 'llm_failed',
      },
    ]);

    await agent.fetch('/chat', postJson({ message: 'second try' }, headers));
    // The question stays in the context; the failed answer does not.
    expect(llm.requests.at(-1)?.messages.map((m) => [m.role, m.content])).toEqual([
      ['system', expect.any(String)],
      ['user', 'lost?'],
      ['user', 'second try'],
    ]);
  });

  test('replace_last_turn drops the last question and its answer before answering again', async () => {
    const headers = userHeaders('regen');
    await agent.fetch('/chat', postJson({ message: 'first' }, headers));
    script = [{ error: { status: 500, message: 'overloaded' } }, { error: { status: 500, message: 'overloaded' } }];
    await agent.fetch('/chat', postJson({ message: 'second, with a typo' }, headers));
    const response = await agent.fetch('/chat', postJson({ message: 'second, fixed', replace_last_turn: true }, headers));
    expect(response.status).toBe(200);
    const { sessions } = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Session[] };
    const session = sessions.find((s) => s.session_id === 'regen');
    expect(session?.messages.map((m) => [m.role, m.content.slice(0, 13), m.status])).toEqual([
      ['user', 'first', undefined],
      ['assistant', DEFAULT_ANSWER_INTRO.slice(0, 13), undefined],
      ['user', 'second, fixed', undefined],
      ['assistant', DEFAULT_ANSWER_INTRO.slice(0, 13), undefined],
    ]);
    expect(llm.requests.at(-1)?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    // Regenerate: the same question again replaces the last exchange, not adds to it.
    await agent.fetch('/chat', postJson({ message: 'second, fixed', replace_last_turn: true }, headers));
    const again = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Session[] };
    expect(again.sessions.find((s) => s.session_id === 'regen')?.messages).toHaveLength(4);
    expect((await agent.fetch('/chat', postJson({ message: 'x', replace_last_turn: 'yes' }, headers))).status).toBe(400);
  });

  test('renames a session with PATCH /sessions', async () => {
    const headers = userHeaders('rename');
    await agent.fetch('/chat', postJson({ message: 'some question' }, headers));
    const patch = (body: unknown, h: Record<string, string> = headers) => agent.fetch('/sessions', { method: 'PATCH', headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const renamed = await patch({ title: '  Fractions, week 3 ' });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toEqual({ status: 'renamed' });
    const { sessions } = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Session[] };
    expect(sessions.find((s) => s.session_id === 'rename')?.title).toBe('Fractions, week 3');
    // A later message keeps the chosen title.
    await agent.fetch('/chat', postJson({ message: 'another' }, headers));
    const later = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Session[] };
    expect(later.sessions.find((s) => s.session_id === 'rename')?.title).toBe('Fractions, week 3');

    for (const body of [{}, { title: '' }, { title: 'x'.repeat(121) }, { title: 7 }]) {
      const response = await patch(body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('invalid_title');
    }
    const missing = await patch({ title: 'nope' }, userHeaders('no-such-session'));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('session_not_found');
    const noHeader = await patch({ title: 'nope' }, { 'X-User-ID': 'ada_example_edu-0123456789' });
    expect(((await noHeader.json()) as { code: string }).code).toBe('session_id_required');
  });
});

describe('tools', () => {
  test('let the model list and read the student’s uploads, PDF included, and answer from them', async () => {
    await writeFile(join(agent.workspace, 'files_uploaded', 'lesson.txt'), 'The derivative of x^2 is 2x.');
    script = [
      { toolCalls: [{ name: 'list_dir', arguments: { path: 'files_uploaded' } }] },
      { toolCalls: [{ name: 'read_file', arguments: { path: 'files_uploaded/lesson.txt' } }] },
      { text: 'Your notes say the derivative of $x^2$ is $2x$.' },
    ];
    const response = await agent.fetch('/chat', postJson({ message: 'What do my notes say?' }, userHeaders('tools')));
    expect(((await response.json()) as Chat).response).toBe('Your notes say the derivative of $x^2$ is $2x$.');
    const toolResults = llm.requests[2]?.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(toolResults?.[0]).toContain('files_uploaded/lesson.txt');
    expect(toolResults?.[1]).toBe('The derivative of x^2 is 2x.');
    expect(llm.requests[2]?.messages.find((m) => m.role === 'assistant')?.tool_calls).toHaveLength(1);
  });

  test('extract the text of an uploaded PDF', async () => {
    await writeFile(join(agent.workspace, 'files_uploaded', 'sheet.pdf'), await readFile(join(import.meta.dir, 'fixtures', 'hello.pdf')));
    script = [{ toolCalls: [{ name: 'read_file', arguments: { path: 'files_uploaded/sheet.pdf' } }] }, { text: 'done' }];
    await agent.fetch('/chat', postJson({ message: 'read the pdf' }, userHeaders('pdf')));
    const result = llm.requests[1]?.messages.find((m) => m.role === 'tool')?.content;
    expect(result).toContain('[PDF, 1 pages]');
    expect(result).toContain('Pythagoras');
  });

  test('let the model write and edit notes in the workspace', async () => {
    script = [
      { toolCalls: [{ name: 'write_file', arguments: { path: 'notes/limits.md', content: '# Limits\n\nlim 1/x = 0' } }] },
      { toolCalls: [{ name: 'edit_file', arguments: { path: 'notes/limits.md', old_text: 'lim 1/x = 0', new_text: '$\\lim_{x\\to\\infty} 1/x = 0$' } }] },
      { text: 'I saved notes/limits.md for you.' },
    ];
    await agent.fetch('/chat', postJson({ message: 'make me notes' }, userHeaders('notes')));
    expect(await readFile(join(agent.workspace, 'notes', 'limits.md'), 'utf8')).toBe('# Limits\n\n$\\lim_{x\\to\\infty} 1/x = 0$');
    const files = (await (await agent.fetch('/files')).json()) as { files: string[] };
    expect(files.files).toContain('notes/limits.md');
  });

  test('refuse paths outside the workspace', async () => {
    await writeFile(join(agent.home, 'secret.txt'), 'top secret');
    script = [
      {
        toolCalls: [
          { name: 'read_file', arguments: { path: '../secret.txt' } },
          { name: 'read_file', arguments: { path: '/etc/passwd' } },
          { name: 'write_file', arguments: { path: '../../escape.txt', content: 'x' } },
          { name: 'list_dir', arguments: { path: '..' } },
        ],
      },
      { text: 'I cannot do that.' },
    ];
    await agent.fetch('/chat', postJson({ message: 'read the secret' }, userHeaders('escape')));
    const results = llm.requests[1]?.messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '') ?? [];
    expect(results).toHaveLength(4);
    expect(results[0]).toContain('access denied');
    // An absolute path is taken as workspace-relative, where no such file exists.
    expect(results[1]).not.toContain('root:');
    expect(results[2]).toContain('access denied');
    expect(results[3]).toContain('access denied');
    expect(results.join('\n')).not.toContain('top secret');
    expect(await Bun.file(join(agent.home, '..', 'escape.txt')).exists()).toBe(false);
  });

  test('stop after maxToolIterations rounds and answer without tools', async () => {
    respond = (request) =>
      request.tools ? { toolCalls: [{ name: 'list_dir', arguments: {} }] } : { text: 'Here is what I found.' };
    const response = await agent.fetch('/chat', postJson({ message: 'loop forever' }, userHeaders('loop')));
    expect(((await response.json()) as Chat).response).toBe('Here is what I found.');
    expect(llm.requests).toHaveLength(5);
    expect(llm.requests[4]?.tools).toBeUndefined();
  });
});

describe('concurrency', () => {
  test('answers two sessions in parallel while one session stays in order', async () => {
    let releaseSlow: () => void = () => undefined;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    // The fake LLM holds the first answer of session A until session B has been answered.
    let sawA1: () => void = () => undefined;
    const a1Arrived = new Promise<void>((resolve) => (sawA1 = resolve));
    const slowLlm = startFakeLlm({ respond: (request) => ({ text: `answer to ${request.messages.at(-1)?.content ?? ''}` }) });
    const gated = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(req) {
        const body = await req.text();
        if (body.includes('"content":"A1"') && !body.includes('answer to A1')) {
          sawA1();
          await slowGate;
        }
        return fetch(`${slowLlm.url}/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      },
    });
    const concurrent = await startTestAgent({ config: fakeConfig(`http://127.0.0.1:${gated.port}/v1`) });
    try {
      const finished: string[] = [];
      const ask = (session: string, message: string) =>
        concurrent
          .fetch('/chat', postJson({ message }, { 'X-User-ID': 'u1', 'X-Session-ID': session }))
          .then((r) => r.json() as Promise<Chat>)
          .then((body) => {
            finished.push(message);
            return body.response;
          });
      const a1 = ask('A', 'A1');
      await a1Arrived;
      const a2 = ask('A', 'A2');
      const b1 = await ask('B', 'B1');
      expect(b1).toBe('answer to B1');
      expect(finished).toEqual(['B1']);
      releaseSlow();
      expect(await a1).toBe('answer to A1');
      expect(await a2).toBe('answer to A2');
      expect(finished).toEqual(['B1', 'A1', 'A2']);
      // A2 reached the model only after A1 had been answered and saved.
      const a2Request = slowLlm.requests.find((r) => r.messages.at(-1)?.content === 'A2');
      expect(a2Request?.messages.map((m) => m.content).slice(1)).toEqual(['A1', 'answer to A1', 'A2']);
    } finally {
      releaseSlow();
      await concurrent.stop();
      await gated.stop(true);
      await slowLlm.stop();
    }
  });
});
