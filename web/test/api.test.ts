import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { handleChat } from '../lib/api/chat.ts';
import { handleClearConversation } from '../lib/api/conversations.ts';
import { handleFiles } from '../lib/api/files.ts';
import { authorized, type ApiHandler } from '../lib/api/handler.ts';
import { handleMemory } from '../lib/api/memory.ts';
import { handleDeleteSession, handleListSessions } from '../lib/api/sessions.ts';
import { handleUpload, MAX_FILE_BYTES } from '../lib/api/upload.ts';
import { LOCAL_SESSION_COOKIE, signLocalSession } from '../lib/auth/local.ts';
import { resolveUser } from '../lib/auth/resolve.ts';
import { parseCookieHeader } from '../lib/auth/user.ts';
import { authMode } from '../lib/settings.ts';
import { ANSWER_PIECES, startFakeGateway } from './fake-gateway.ts';

const gateway = startFakeGateway({ pieceDelayMs: 60 });
const ada = { email: 'ada@example.edu' };

afterAll(() => gateway.stop());
beforeEach(() => {
  gateway.received.length = 0;
  gateway.failures.length = 0;
});

function route(handler: ApiHandler, user: { email: string } | null = ada) {
  return authorized(handler, { resolveUser: async () => user, gateway: () => ({ url: gateway.url, token: gateway.token }) });
}

function request(path: string, init: RequestInit = {}) {
  return new Request(`http://web.test${path}`, init);
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

  test('refuses an empty message without bothering the tutor', async () => {
    const response = await route(handleChat)(chatRequest('   '));
    expect(response.status).toBe(400);
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
    expect(await response.json()).toEqual({ error: expect.stringContaining('Your tutor is starting'), code: 'starting', retryAfter: 5 });
  });

  test('a tutor that took too long to answer asks the student to try again instead of resending by itself', async () => {
    gateway.failures.push({ status: 504, code: 'upstream_timeout' });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(504);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toEqual({ error: 'Your tutor took too long to answer. Please try again.', code: 'failed' });
  });

  test('a tutor without an LLM configured says so instead of claiming to be starting', async () => {
    gateway.failures.push({ status: 503, code: 'no_provider' });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toEqual({ error: expect.stringContaining('no AI model configured'), code: 'misconfigured' });
  });

  test('an LLM provider failure asks the student to try again, not to wait', async () => {
    gateway.failures.push({ status: 502, code: 'llm_failed' });
    const response = await route(handleChat)(chatRequest('hi'));
    expect(response.status).toBe(502);
    expect((await response.json()).code).toBe('failed');
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
