import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { handleChat } from '../lib/api/chat.ts';
import { handleClearConversation } from '../lib/api/conversations.ts';
import { handleDeleteFile, handleFiles, handleRenameFile } from '../lib/api/files.ts';
import { authorized, type ApiHandler } from '../lib/api/handler.ts';
import { handleMemory } from '../lib/api/memory.ts';
import { handleCapabilities } from '../lib/api/capabilities.ts';
import { handleExport } from '../lib/api/export.ts';
import { handleDeleteSession, handleListSessions, handleRenameSession } from '../lib/api/sessions.ts';
import { ERROR_CODES, MAX_FILE_BYTES, MAX_MESSAGE_CHARS, quotaMessage } from '../lib/api/shared.ts';
import { handleUpload } from '../lib/api/upload.ts';
import { LOCAL_SESSION_COOKIE, signLocalSession } from '../lib/auth/local.ts';
import { resolveUser } from '../lib/auth/resolve.ts';
import { parseCookieHeader } from '../lib/auth/user.ts';
import { authMode } from '../lib/settings.ts';
import { ANSWER_PIECES, startFakeGateway, type Failure } from './fake-gateway.ts';

// Pieces a little apart, so a stream passed through piece by piece is told from one sent whole.
const gateway = startFakeGateway({ pieceDelayMs: 10 });
const ada = { email: 'ada@example.edu' };

afterAll(() => gateway.stop());
beforeEach(() => {
  gateway.received.length = 0;
  gateway.failures.length = 0;
  gateway.chatFailures.length = 0;
  gateway.dialect = 'reference';
});

function route(handler: ApiHandler, user: { email: string } | null = ada) {
  return authorized(handler, { resolveUser: async () => user, gateway: () => ({ url: gateway.url, token: gateway.token }) });
}

function request(path: string, init: RequestInit = {}) {
  return new Request(`http://web.test${path}`, init);
}

function formWith(...files: File[]) {
  const form = new FormData();
  for (const file of files) form.append('files', file);
  return form;
}

const chatRequest = (message: string, headers: Record<string, string> = {}) =>
  request('/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ message }) });

describe('calls to the gateway', () => {
  test('carry the verified email and the gateway token, and pass the session id through', async () => {
    const response = await route(handleChat)(chatRequest('hi', { 'X-Session-ID': 'tab_2-b' }));
    await response.text();
    const sent = gateway.received[0]!;
    expect(sent.path).toBe('/chat');
    expect(sent.headers.get('authorization')).toBe(`Bearer ${gateway.token}`);
    expect(sent.headers.get('x-user-email')).toBe('ada@example.edu');
    expect(sent.headers.get('x-session-id')).toBe('tab_2-b');
    expect(JSON.parse(sent.body)).toEqual({ message: 'hi' });
  });

  test('ignore an email the client supplies and a session id of the wrong shape', async () => {
    const response = await route(handleChat)(chatRequest('hi', { 'X-User-Email': 'mallory@example.com', 'X-Session-ID': '../other' }));
    await response.text();
    expect(gateway.received[0]!.headers.get('x-user-email')).toBe('ada@example.edu');
    expect(gateway.received[0]!.headers.get('x-session-id')).toBeNull();
  });

  test('are never made for a caller who is not signed in', async () => {
    for (const handler of [handleChat, handleFiles, handleUpload, handleMemory, handleClearConversation, handleListSessions, handleDeleteSession]) {
      const response = await route(handler, null)(request('/api/x', { method: 'POST', body: '{}' }));
      expect(response.status).toBe(401);
      expect((await response.json()).code).toBe('unauthenticated');
    }
    expect(gateway.received).toHaveLength(0);
  });
});

describe('chat', () => {
  test('streams the answer through piece by piece instead of waiting for the whole of it', async () => {
    const response = await route(handleChat)(chatRequest('Explain energy'));
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: delta');
    expect(first).not.toContain('event: done');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain(`event: done\ndata: ${JSON.stringify({ response: ANSWER_PIECES.join('') })}`);
  });

  test('passes images and replace_last_turn on in the agent’s spelling, and leaves them out when unused', async () => {
    await route(handleUpload)(request('/api/upload', { method: 'POST', body: formWith(new File(['png'], 'photo.png')) }));
    const send = (body: unknown) =>
      route(handleChat)(request('/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).then((r) => r.text());
    await send({ message: 'What is this?', images: ['files_uploaded/photo.png'], replaceLastTurn: true });
    expect(JSON.parse(gateway.received.at(-1)!.body)).toEqual({ message: 'What is this?', images: ['files_uploaded/photo.png'], replace_last_turn: true });
    await send({ message: 'Plain', images: [], replaceLastTurn: false });
    expect(JSON.parse(gateway.received.at(-1)!.body)).toEqual({ message: 'Plain' });
  });

  test('refuses an empty message without bothering the tutor', async () => {
    const response = await route(handleChat)(chatRequest('   '));
    expect(response.status).toBe(400);
    expect(gateway.received).toHaveLength(0);
  });

  test('refuses a message over the limit, saying so and naming the limit, without bothering the tutor', async () => {
    const response = await route(handleChat)(chatRequest('x'.repeat(MAX_MESSAGE_CHARS + 1)));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'Your message is too long (at most 100,000 characters).', code: 'bad_request' });
    expect(gateway.received).toHaveLength(0);
  });
});

describe('gateway errors become sentences a student understands', () => {
  test.each([
    [503, 'not_ready'],
    [503, 'engine_unreachable'],
    [504, 'agent_start_timeout'],
  ])('%i %s means the tutor is starting, with a hint when to retry', async (status, code) => {
    gateway.failures.push({ status, code, headers: { 'Retry-After': '5' } });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({ error: expect.stringContaining('Your tutor is starting'), code: 'starting', retryAfter: 5, reason: code });
  });

  test.each([
    ['a tutor that took too long to answer asks the student to try again instead of resending by itself', 504, 'upstream_timeout', 'Your tutor took too long to answer. Please try again.', 'failed'],
    ['a tutor that stopped responding says so, without a retry hint', 504, 'agent_unresponsive', 'Your tutor stopped responding. Please try again.', 'unavailable'],
    ['a tutor without an LLM configured says so instead of claiming to be starting', 503, 'no_provider', expect.stringContaining('no AI model configured'), 'misconfigured'],
  ] as const)('%s', async (_, status, code, error, answered) => {
    gateway.failures.push({ status, code });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(status);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toEqual({ error, code: answered, reason: code });
  });

  test('a paused tutor says so, with the gateway\'s Retry-After but not as "starting" (which the browser would resend)', async () => {
    gateway.failures.push({ status: 503, code: 'agent_paused', headers: { 'Retry-After': '10' } });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('10');
    expect(await response.json()).toEqual({ error: expect.stringContaining('paused'), code: 'unavailable', retryAfter: 10, reason: 'agent_paused' });
  });

  test('a used-up LLM allowance tells the student when it resets', async () => {
    gateway.failures.push({ status: 429, code: 'llm_quota' });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: "You have used today's tutoring allowance; it resets at midnight UTC.", code: 'quota', reason: 'llm_quota' });
    expect(quotaMessage('2030-01-03T00:00:00.000Z')).toBe("You have used today's tutoring allowance; it resets at 00:00 UTC.");
  });

  test('an LLM provider failure asks the student to try again, not to wait', async () => {
    gateway.failures.push({ status: 502, code: 'llm_failed' });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(502);
    // The reason tells the browser the agent kept the question, so its Retry replaces the turn.
    expect(await response.json()).toMatchObject({ code: 'failed', reason: 'llm_failed' });
  });

  test('an agent that exited at start says the tutor could not start, instead of "starting" forever', async () => {
    gateway.failures.push({ status: 503, code: 'agent_exited', headers: { 'Retry-After': '30' } });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'cannot_start', error: expect.stringContaining('could not start') });
  });

  test('every code an /api route answers with is in the one shared list', async () => {
    const cases: Failure[] = [
      { status: 503, code: 'not_ready' },
      { status: 503, code: 'agent_exited' },
      { status: 502, code: 'llm_failed' },
      { status: 504, code: 'llm_timeout' },
      { status: 400, code: 'no_vision' },
      { status: 403, code: 'forbidden_path' },
      { status: 405 },
      { status: 409, code: 'name_taken' },
      { status: 413 },
      { status: 404, code: 'not_found' },
      { status: 401 },
      { status: 500 },
    ];
    for (const failure of cases) {
      gateway.failures.push(failure);
      const body = await (await route(handleMemory)(request('/api/memory'))).json();
      expect(ERROR_CODES).toContain(body.code);
    }
  });
  test('413 says the file is larger than 5 MB', async () => {
    gateway.failures.push({ status: 413 });
    const form = new FormData();
    form.append('files', new File(['x'], 'a.txt'));
    const response = await route(handleUpload)(request('/api/upload', { method: 'POST', body: form }));
    expect(response.status).toBe(413);
    expect((await response.json()).error).toBe('That file is larger than 5 MB.');
  });

  test('a refused gateway token is reported as a setup problem, not as signed out', async () => {
    const response = await authorized(handleMemory, { resolveUser: async () => ada, gateway: () => ({ url: gateway.url, token: 'wrong' }) })(request('/api/memory'));
    expect(response.status).toBe(502);
    expect((await response.json()).code).toBe('misconfigured');
  });

  test('an unreachable gateway is a short JSON message, not a stack trace', async () => {
    const down = authorized(handleMemory, { resolveUser: async () => ada, gateway: () => ({ url: 'http://127.0.0.1:9', token: 't' }) });
    const response = await down(request('/api/memory'));
    expect(response.status).toBe(503);
    const body = await response.json();
    expect(body.error).toContain('cannot be reached');
    expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
  });
});

describe('uploads', () => {
  test('turn several multipart files into the agent’s JSON upload contract', async () => {
    const form = new FormData();
    form.append('files', new File(['first notes'], 'notes.txt'));
    form.append('files', new File([new Uint8Array([0, 1, 2, 255])], 'data.bin'));
    const response = await route(handleUpload)(request('/api/upload', { method: 'POST', body: form }));
    expect(await response.json()).toEqual({ saved_files: ['files_uploaded/notes.txt', 'files_uploaded/data.bin'] });
    expect(JSON.parse(gateway.received[0]!.body)).toEqual({
      files: [
        { name: 'notes.txt', content_base64: Buffer.from('first notes').toString('base64') },
        { name: 'data.bin', content_base64: 'AAEC/w==' },
      ],
    });
  });

  test('over 5 MiB are refused before anything is sent to the gateway', async () => {
    const form = new FormData();
    form.append('files', new File(['ok'], 'small.txt'));
    form.append('files', new File([new Uint8Array(MAX_FILE_BYTES + 1)], 'huge.pdf'));
    const response = await route(handleUpload)(request('/api/upload', { method: 'POST', body: form }));
    expect(response.status).toBe(413);
    expect((await response.json()).error).toBe('That file is larger than 5 MB. (huge.pdf)');
    expect(gateway.received).toHaveLength(0);
  });

  test('with no file at all are a 400', async () => {
    const response = await route(handleUpload)(request('/api/upload', { method: 'POST', body: new FormData() }));
    expect(response.status).toBe(400);
  });
});

describe('files, memory, sessions and conversations', () => {
  test('files are listed and one can be downloaded as an attachment', async () => {
    const listing = await route(handleFiles)(request('/api/files'));
    expect((await listing.json()).files).toContain('memory/MEMORY.md');
    const download = await route(handleFiles)(request('/api/files?path=memory/MEMORY.md'));
    expect(download.headers.get('content-disposition')).toContain('attachment; filename="MEMORY.md"');
    expect(await download.text()).toBe('# Memory\n');
    expect(gateway.received.at(-1)!.path).toBe('/files/memory/MEMORY.md');
  });

  test('a download path that climbs out of the workspace is refused', async () => {
    const response = await route(handleFiles)(request('/api/files?path=../../etc/passwd'));
    expect(response.status).toBe(400);
    expect(gateway.received).toHaveLength(0);
  });

  test('memory comes back as MEMORY.md and HISTORY.md', async () => {
    expect(await (await route(handleMemory)(request('/api/memory'))).json()).toEqual({ memory: '# Memory\n\n- Likes physics', history: '' });
  });

  test('deleting a session needs its id, and clearing sends the current one', async () => {
    expect((await route(handleDeleteSession)(request('/api/sessions', { method: 'DELETE' }))).status).toBe(400);
    const cleared = await route(handleClearConversation)(request('/api/conversations', { method: 'DELETE', headers: { 'X-Session-ID': 's1' } }));
    expect(await cleared.json()).toEqual({ status: 'cleared' });
    expect(gateway.received.at(-1)!.headers.get('x-session-id')).toBe('s1');
  });

  test('sessions list what was said in each session', async () => {
    await (await route(handleChat)(chatRequest('Remember me', { 'X-Session-ID': 'restore-me' }))).text();
    const { sessions } = await (await route(handleListSessions)(request('/api/sessions'))).json();
    const restored = sessions.find((s: { session_id: string }) => s.session_id === 'restore-me');
    expect(restored.messages[0]).toMatchObject({ role: 'user', content: 'Remember me' });
  });
});

describe('the optional endpoints', () => {
  test('a session is renamed with a title of 1 to 120 characters', async () => {
    await (await route(handleChat)(chatRequest('Name me', { 'X-Session-ID': 'rename-me' }))).text();
    const rename = (title: unknown, headers: Record<string, string> = { 'X-Session-ID': 'rename-me' }) =>
      route(handleRenameSession)(request('/api/sessions', { method: 'PATCH', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ title }) }));
    expect((await rename('x'.repeat(121))).status).toBe(400);
    expect((await rename('Mechanics', {})).status).toBe(400);
    expect(await (await rename('Mechanics')).json()).toEqual({ status: 'renamed' });
    expect(gateway.received.at(-1)).toMatchObject({ method: 'PATCH', path: '/sessions' });
    expect(gateway.users.get(ada.email)?.sessions.get('rename-me')?.title).toBe('Mechanics');
  });

  test('own files are deleted and renamed; the agent’s refusal of other files is a sentence', async () => {
    await route(handleUpload)(request('/api/upload', { method: 'POST', body: formWith(new File(['x'], 'old.txt')) }));
    const renamed = await route(handleRenameFile)(
      request('/api/files?path=files_uploaded/old.txt', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'new name.txt' }) }),
    );
    expect(await renamed.json()).toEqual({ path: 'files_uploaded/new_name.txt' });
    const refused = await route(handleDeleteFile)(request('/api/files?path=AGENTS.md', { method: 'DELETE' }));
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'forbidden', error: 'Only your uploads and notes can be changed.' });
    const deleted = await route(handleDeleteFile)(request('/api/files?path=files_uploaded/new_name.txt', { method: 'DELETE' }));
    expect(await deleted.json()).toEqual({ deleted: 'files_uploaded/new_name.txt' });
    expect((await route(handleDeleteFile)(request('/api/files?path=../x', { method: 'DELETE' }))).status).toBe(400);
  });

  test('images and PDFs can be shown inline with a type the app chooses; anything else stays an attachment', async () => {
    await route(handleUpload)(request('/api/upload', { method: 'POST', body: formWith(new File(['png'], 'diagram.png'), new File(['<script>'], 'page.html')) }));
    const image = await route(handleFiles)(request('/api/files?path=files_uploaded/diagram.png&inline=1'));
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(image.headers.get('content-disposition')).toStartWith('inline;');
    const page = await route(handleFiles)(request('/api/files?path=files_uploaded/page.html&inline=1'));
    expect(page.headers.get('content-disposition')).toStartWith('attachment;');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('the export is passed through as a zip attachment', async () => {
    const response = await route(handleExport)(request('/api/export'));
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="tutor-export.zip"');
    expect((await response.text()).startsWith('PK')).toBe(true);
  });

  test('capabilities: all on for the reference agent, all off for the real nanobot, and the probes change nothing', async () => {
    const before = JSON.stringify([...(gateway.users.get(ada.email)?.files.keys() ?? [])]);
    expect(await (await route(handleCapabilities)(request('/api/capabilities'))).json()).toEqual({
      downloads: true,
      manageFiles: true,
      renameSessions: true,
      chatOptions: true,
      export: true,
    });
    gateway.dialect = 'nanobot';
    expect(await (await route(handleCapabilities)(request('/api/capabilities'))).json()).toEqual({
      downloads: false,
      manageFiles: false,
      renameSessions: false,
      chatOptions: false,
      export: false,
    });
    expect(JSON.stringify([...(gateway.users.get(ada.email)?.files.keys() ?? [])])).toBe(before);
  });

  test('the real nanobot’s missing endpoints are "not offered", not "not found"', async () => {
    gateway.dialect = 'nanobot';
    const download = await route(handleFiles)(request('/api/files?path=memory/MEMORY.md'));
    expect(await download.json()).toMatchObject({ code: 'unsupported' });
    const rename = await route(handleRenameSession)(
      request('/api/sessions', { method: 'PATCH', headers: { 'X-Session-ID': 'x', 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'T' }) }),
    );
    expect(await rename.json()).toMatchObject({ code: 'unsupported' });
  });
});

describe('a request signed in with a local session cookie', () => {
  const env = { SESSION_SECRET: 'x'.repeat(32), USER_ASSERTION_SECRET: 'y'.repeat(32) };

  test('reaches the gateway as the email in the cookie', async () => {
    const mode = authMode(env);
    if (mode.kind !== 'accounts') throw new Error('expected local accounts');
    const cookie = `${LOCAL_SESSION_COOKIE}=${await signLocalSession('grace@example.edu', mode.secret, 'session-1')}`;
    const handler = authorized(handleMemory, {
      resolveUser: (req) => resolveUser(parseCookieHeader(req.headers.get('cookie')), mode),
      gateway: () => ({ url: gateway.url, token: gateway.token }),
    });
    expect((await handler(request('/api/memory', { headers: { cookie } }))).status).toBe(200);
    expect(gateway.received[0]!.headers.get('x-user-email')).toBe('grace@example.edu');
    expect((await handler(request('/api/memory', { headers: { cookie: `${cookie}x` } }))).status).toBe(401);
  });
});
