/**
 * A stand-in for the gateway (and the agent behind it) on a real socket: checks the bearer token
 * and the user header, streams chat answers as SSE in small delayed pieces, and keeps each user's
 * sessions and files in memory. Tests can queue failures and read what was received.
 *
 * `dialect` picks the agent behind it: `reference` speaks the full contract (message status,
 * `images`, `replace_last_turn`, session titles, file delete/rename, export); `nanobot` acts like
 * the real nanobot image: no streaming, no optional endpoints (404/405), only dashed-UUID session
 * ids (anything else is `default`), and a failed model call answered as a 200 "Sorry, …" reply.
 */
export type Received = { method: string; path: string; headers: Headers; body: string };
/** A failure for the next request to `path` (any path when left out). */
export type Failure = { status: number; headers?: Record<string, string>; path?: string; code?: string };
/** How the next chat answer fails inside the agent: before any text, or after the first pieces. */
export type ChatFailure = 'before' | 'midway';
export type Dialect = 'reference' | 'nanobot';

type StoredMessage = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  timestamp: string;
  status?: 'error' | 'stopped';
  error?: string;
  code?: string;
  images?: string[];
};
type StoredSession = { title?: string; updated_at: string; messages: StoredMessage[] };
type UserState = {
  sessions: Map<string, StoredSession>;
  files: Map<string, Uint8Array>;
  /** What DELETE /sessions consolidated into memory, oldest first. */
  consolidated: string[];
};

export const ANSWER_PIECES = [
  'Great question! ',
  'Energy and mass are two sides of one coin.\n\n',
  'Einstein wrote it as $E = mc^2$, ',
  'where $c$ is the speed of light.\n\n',
  '```python\nprint("E = m * c ** 2")\n```\n',
];

/** The real nanobot's agent loop's reply when the model call throws. */
export const NANOBOT_ERROR_REPLY = 'Sorry, I encountered an error: litellm.RateLimitError: rate limited';
/** The agent's own text for a failed model call, quoting the provider: for operators, never shown to students. */
export const LLM_FAILED = 'The custom provider failed: 500 upstream exploded';

/** A start as the gateway reports it (GET /agent/events): `{state}`, `{state: 'queued', position}`. */
export type AgentState = { state: string; position?: number };

export type FakeGateway = {
  url: string;
  token: string;
  received: Received[];
  failures: Failure[];
  chatFailures: ChatFailure[];
  dialect: Dialect;
  users: Map<string, UserState>;
  /**
   * Set it and the next request of any user starts that user's tutor through these states, `stepMs`
   * apart; meanwhile the other requests wait, as the gateway holds them. Cleared once used.
   */
  coldStart: { states: AgentState[]; stepMs: number } | null;
  stop: () => Promise<void>;
};

const DEFAULT_SESSION = 'default';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OWN_FOLDERS = ['files_uploaded/', 'notes/'];
const TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', pdf: 'application/pdf' };

const text = (value: string) => new TextEncoder().encode(value);

function userState(users: Map<string, UserState>, email: string): UserState {
  let state = users.get(email);
  if (!state) {
    const files = new Map<string, Uint8Array>([
      ['AGENTS.md', text('# Agent instructions\n')],
      ['SOUL.md', text('# Soul\n')],
      ['USER.md', text('# User\n')],
      ['memory/MEMORY.md', text('# Memory\n')],
      ['notes/chain-rule.md', text('# The chain rule\n')],
    ]);
    state = { sessions: new Map(), files, consolidated: [] };
    users.set(email, state);
  }
  return state;
}

const error = (status: number, message: string, code: string, headers: Record<string, string> = {}) =>
  Response.json({ error: message, code, requestId: 'fake' }, { status, headers });

/** aiohttp's own answer to a route it does not have. */
const bareNotFound = () => new Response('404: Not Found', { status: 404, headers: { 'Content-Type': 'text/plain' } });
const bareNotAllowed = () => new Response('405: Method Not Allowed', { status: 405, headers: { 'Content-Type': 'text/plain' } });

const now = () => new Date().toISOString();

export function startFakeGateway({ token = 'test-gateway-token', pieceDelayMs = 40 } = {}): FakeGateway {
  const received: Received[] = [];
  const failures: Failure[] = [];
  const chatFailures: ChatFailure[] = [];
  const users = new Map<string, UserState>();
  const fake = { dialect: 'reference' as Dialect, coldStart: null as FakeGateway['coldStart'] };
  const starts = new Map<string, { seen: AgentState[]; done: Promise<void>; changed: Set<() => void> }>();

  function beginStart(email: string, { states, stepMs }: { states: AgentState[]; stepMs: number }) {
    const start = { seen: [] as AgentState[], done: Promise.resolve(), changed: new Set<() => void>() };
    start.done = (async () => {
      for (const state of states) {
        start.seen.push(state);
        for (const wake of start.changed) wake();
        if (state.state !== 'running') await Bun.sleep(stepMs);
      }
    })();
    starts.set(email, start);
  }

  /** The states of the user's start so far, then each as it comes, ending after `running`. */
  function agentEvents(email: string): Response {
    const start = starts.get(email);
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        let sent = 0;
        const seen = start?.seen ?? [{ state: 'running' }];
        while (true) {
          while (sent < seen.length) controller.enqueue(encoder.encode(`event: state\ndata: ${JSON.stringify(seen[sent++])}\n\n`));
          if (seen.at(-1)?.state === 'running') break;
          await new Promise<void>((wake) => {
            start!.changed.add(wake);
          });
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
  }

  function sessionOf(state: UserState, sessionId: string): StoredSession {
    const session = state.sessions.get(sessionId) ?? { updated_at: now(), messages: [] };
    // Most recently used last, so the listing (reversed) is newest first.
    state.sessions.delete(sessionId);
    state.sessions.set(sessionId, session);
    session.updated_at = now();
    return session;
  }

  function add(session: StoredMessage[], message: Omit<StoredMessage, 'id' | 'timestamp'>): StoredMessage {
    const stored = { id: crypto.randomUUID(), timestamp: now(), ...message };
    session.push(stored);
    return stored;
  }

  type ChatBody = { message: string; images?: string[]; replace_last_turn?: boolean };

  function chat(state: UserState, sessionId: string, body: ChatBody, streaming: boolean, signal: AbortSignal): Response {
    const session = sessionOf(state, sessionId);
    const failure = chatFailures.shift();
    if (fake.dialect === 'nanobot') {
      add(session.messages, { role: 'user', content: body.message });
      if (failure) return Response.json({ response: NANOBOT_ERROR_REPLY });
      const whole = ANSWER_PIECES.join('');
      add(session.messages, { role: 'assistant', content: whole });
      return Response.json({ response: whole });
    }
    if (body.images?.some((path) => !path.startsWith('files_uploaded/') || !state.files.has(path))) {
      return error(400, 'images must be uploaded first', 'invalid_image_path');
    }
    if (body.replace_last_turn) {
      const last = session.messages.findLastIndex((m) => m.role === 'user');
      if (last >= 0) session.messages.splice(last);
    }
    // The contract: the question is stored before the model is called, so a failure never loses it.
    add(session.messages, { role: 'user', content: body.message, ...(body.images?.length ? { images: body.images } : {}) });
    if (failure === 'before') {
      add(session.messages, { role: 'assistant', content: '', status: 'error', error: LLM_FAILED, code: 'llm_failed' });
      return error(502, LLM_FAILED, 'llm_failed');
    }
    const whole = ANSWER_PIECES.join('');
    if (!streaming) {
      add(session.messages, { role: 'assistant', content: whole });
      return Response.json({ response: whole });
    }
    const encoder = new TextEncoder();
    let streamed = '';
    let settled = false;
    const settle = (message: Omit<StoredMessage, 'id' | 'timestamp' | 'role'>) => {
      if (settled) return;
      settled = true;
      add(session.messages, { role: 'assistant', ...message });
    };
    signal.addEventListener('abort', () => settle({ content: streamed, status: 'stopped' }), { once: true });
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          for (const [index, piece] of ANSWER_PIECES.entries()) {
            if (failure === 'midway' && index === 2) {
              settle({ content: streamed, status: 'error', error: LLM_FAILED, code: 'llm_failed' });
              controller.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify({ error: LLM_FAILED, code: 'llm_failed' })}\n\n`));
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`event: delta\ndata: ${JSON.stringify({ text: piece })}\n\n`));
            streamed += piece;
            await Bun.sleep(pieceDelayMs);
            if (signal.aborted) return;
          }
          settle({ content: whole });
          controller.enqueue(encoder.encode(`event: done\ndata: ${JSON.stringify({ response: whole })}\n\n`));
          controller.close();
        } catch {
          // The client went away mid-stream; the abort listener stored what was sent.
        }
      },
    });
    return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
  }

  function listSessions(state: UserState) {
    const sessions = [...state.sessions.entries()].reverse().filter(([, s]) => s.messages.length > 0);
    if (fake.dialect === 'reference') return sessions.map(([session_id, s]) => ({ session_id, ...s }));
    // The real image has no stored titles and makes up new message ids on every listing.
    return sessions.map(([session_id, s]) => ({
      session_id,
      updated_at: s.updated_at,
      messages: s.messages.map(({ role, content, timestamp }) => ({ id: crypto.randomUUID(), role, content, timestamp })),
    }));
  }

  function files(state: UserState, request: Request, path: string, body: string): Response {
    const file = state.files.get(path);
    if (request.method === 'GET') {
      if (fake.dialect === 'nanobot') return bareNotFound();
      if (!file) return error(404, 'file not found', 'not_found');
      return new Response(new Uint8Array(file), { headers: { 'Content-Type': TYPES[path.split('.').pop() ?? ''] ?? 'text/plain' } });
    }
    if (fake.dialect === 'nanobot') return bareNotAllowed();
    if (!file) return error(404, 'file not found', 'not_found');
    if (!OWN_FOLDERS.some((folder) => path.startsWith(folder))) return error(403, 'only files under files_uploaded/ and notes/ can be changed', 'forbidden_path');
    if (request.method === 'DELETE') {
      state.files.delete(path);
      return Response.json({ deleted: path });
    }
    if (request.method === 'PATCH') {
      const { name } = JSON.parse(body) as { name: string };
      const target = `${path.slice(0, path.lastIndexOf('/') + 1)}${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
      if (target !== path && state.files.has(target)) return error(409, 'a file with that name exists', 'name_taken');
      state.files.delete(path);
      state.files.set(target, file);
      return Response.json({ path: target });
    }
    return error(405, 'method not allowed', 'method_not_allowed');
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 60,
    async fetch(request) {
      const url = new URL(request.url);
      const body = request.method === 'GET' || request.method === 'DELETE' ? '' : await request.text();
      received.push({ method: request.method, path: url.pathname, headers: request.headers, body });
      if (request.headers.get('authorization') !== `Bearer ${token}`) return error(401, 'Missing or wrong token.', 'unauthorized');
      const email = request.headers.get('x-user-email');
      if (!email) return error(400, 'Missing X-User-Email.', 'bad_identity');
      const index = failures.findIndex((f) => !f.path || f.path === url.pathname);
      const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
      if (failure) return error(failure.status, 'Injected failure.', failure.code ?? 'injected', failure.headers);
      if (fake.coldStart) {
        beginStart(email, fake.coldStart);
        fake.coldStart = null;
      }
      if (url.pathname === '/agent/events') return agentEvents(email);
      if (url.pathname === '/agent/start') return Response.json(starts.get(email)?.seen.at(-1) ?? { state: 'running' }, { status: 202 });
      await starts.get(email)?.done;
      const state = userState(users, email);
      const requested = request.headers.get('x-session-id');
      const sessionId = !requested || (fake.dialect === 'nanobot' && !UUID.test(requested)) ? DEFAULT_SESSION : requested;
      const route = `${request.method} ${url.pathname}`;
      if (route === 'POST /chat') {
        return chat(state, sessionId, JSON.parse(body) as ChatBody, request.headers.get('accept')?.includes('text/event-stream') ?? false, request.signal);
      }
      if (route === 'GET /sessions') return Response.json({ sessions: listSessions(state) });
      if (route === 'DELETE /sessions') {
        const session = state.sessions.get(sessionId);
        if (session) state.consolidated.push(session.messages.map((m) => m.content).join('\n'));
        state.sessions.delete(sessionId);
        return Response.json({ status: 'deleted', session_id: sessionId });
      }
      if (route === 'PATCH /sessions') {
        if (fake.dialect === 'nanobot') return bareNotAllowed();
        const { title } = JSON.parse(body || '{}') as { title?: string };
        if (!title || title.length > 120) return error(400, 'title must have 1 to 120 characters', 'invalid_title');
        const session = state.sessions.get(sessionId);
        if (!session) return error(404, 'no such session', 'not_found');
        session.title = title;
        return Response.json({ status: 'renamed' });
      }
      if (route === 'DELETE /conversations') {
        state.sessions.delete(sessionId);
        return Response.json({ status: 'cleared' });
      }
      if (route === 'GET /memory') return Response.json({ memory: '# Memory\n\n- Likes physics', history: '' });
      if (route === 'GET /files') return Response.json({ files: [...state.files.keys()].sort() });
      if (url.pathname.startsWith('/files/')) return files(state, request, decodeURIComponent(url.pathname.slice('/files/'.length)), body);
      if (route === 'GET /export') {
        if (fake.dialect === 'nanobot') return bareNotFound();
        // Not a real archive: the web app only passes the bytes through.
        return new Response(`PK\u0003\u0004${[...state.files.keys()].join('\n')}`, {
          headers: { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment; filename="tutor-export.zip"' },
        });
      }
      if (route === 'POST /uploads') {
        const { files: uploads } = JSON.parse(body) as { files: { name: string; content_base64: string }[] };
        const saved = uploads.map((f) => {
          const path = `files_uploaded/${f.name}`;
          state.files.set(path, Buffer.from(f.content_base64, 'base64'));
          return path;
        });
        return Response.json({ saved_files: saved });
      }
      return fake.dialect === 'nanobot' ? bareNotFound() : error(404, 'Not found.', 'not_found');
    },
  });

  return Object.assign(fake, {
    url: `http://127.0.0.1:${server.port}`,
    token,
    received,
    failures,
    chatFailures,
    users,
    stop: () => server.stop(true),
  });
}
