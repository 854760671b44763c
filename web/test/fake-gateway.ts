/**
 * A stand-in for the gateway (and the agent behind it) on a real socket: checks the bearer token
 * and the user header, streams chat answers as SSE in small delayed pieces, and keeps each user's
 * sessions and files in memory. Tests can queue failures and read what was received.
 */
export type Received = { method: string; path: string; headers: Headers; body: string };
/** A failure for the next request to `path` (any path when left out). */
export type Failure = { status: number; headers?: Record<string, string>; path?: string; code?: string };

type StoredMessage = { id: string; role: 'user' | 'assistant'; content: string };
type UserState = {
  sessions: Map<string, { title: string; updated_at: string; messages: StoredMessage[] }>;
  files: Map<string, Uint8Array>;
};

export const ANSWER_PIECES = [
  'Great question! ',
  'Energy and mass are two sides of one coin.\n\n',
  'Einstein wrote it as $E = mc^2$, ',
  'where $c$ is the speed of light.\n\n',
  '```python\nprint("E = m * c ** 2")\n```\n',
];

/** A start as the gateway reports it (GET /agent/events): `{state}`, `{state: 'queued', position}`. */
export type AgentState = { state: string; position?: number };

export type FakeGateway = {
  url: string;
  token: string;
  received: Received[];
  failures: Failure[];
  users: Map<string, UserState>;
  /**
   * Set it and the next request of any user starts that user's tutor through these states, `stepMs`
   * apart; meanwhile the other requests wait, as the gateway holds them. Cleared once used.
   */
  coldStart: { states: AgentState[]; stepMs: number } | null;
  stop: () => Promise<void>;
};

const DEFAULT_SESSION = 'default';

function userState(users: Map<string, UserState>, email: string): UserState {
  let state = users.get(email);
  if (!state) {
    state = { sessions: new Map(), files: new Map([['memory/MEMORY.md', new TextEncoder().encode('# Memory\n')]]) };
    users.set(email, state);
  }
  return state;
}

const error = (status: number, message: string, code: string, headers: Record<string, string> = {}) =>
  Response.json({ error: message, code, requestId: 'fake' }, { status, headers });

export function startFakeGateway({ token = 'test-gateway-token', pieceDelayMs = 40 } = {}): FakeGateway {
  const received: Received[] = [];
  const failures: Failure[] = [];
  const users = new Map<string, UserState>();
  const starts = new Map<string, { seen: AgentState[]; done: Promise<void>; changed: Set<() => void> }>();
  const fake = { coldStart: null as FakeGateway['coldStart'] };

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

  function chat(state: UserState, sessionId: string, message: string, streaming: boolean): Response {
    const session = state.sessions.get(sessionId) ?? { title: '', updated_at: '', messages: [] };
    state.sessions.delete(sessionId);
    state.sessions.set(sessionId, session);
    session.updated_at = new Date().toISOString();
    session.messages.push({ id: String(session.messages.length + 1), role: 'user', content: message });
    const whole = ANSWER_PIECES.join('');
    session.messages.push({ id: String(session.messages.length + 1), role: 'assistant', content: whole });
    if (!streaming) return Response.json({ response: whole });
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const text of ANSWER_PIECES) {
          controller.enqueue(encoder.encode(`event: delta\ndata: ${JSON.stringify({ text })}\n\n`));
          await Bun.sleep(pieceDelayMs);
        }
        controller.enqueue(encoder.encode(`event: done\ndata: ${JSON.stringify({ response: whole })}\n\n`));
        controller.close();
      },
    });
    return new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } });
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
      const sessionId = request.headers.get('x-session-id') ?? DEFAULT_SESSION;
      const route = `${request.method} ${url.pathname}`;
      if (route === 'POST /chat') {
        const { message } = JSON.parse(body) as { message: string };
        return chat(state, sessionId, message, request.headers.get('accept')?.includes('text/event-stream') ?? false);
      }
      if (route === 'GET /sessions') {
        const sessions = [...state.sessions.entries()].reverse().map(([session_id, s]) => ({ session_id, ...s }));
        return Response.json({ sessions });
      }
      if (route === 'DELETE /sessions') {
        state.sessions.delete(sessionId);
        return Response.json({ status: 'deleted' });
      }
      if (route === 'DELETE /conversations') {
        state.sessions.delete(sessionId);
        return Response.json({ status: 'cleared' });
      }
      if (route === 'GET /memory') return Response.json({ memory: '# Memory\n\n- Likes physics', history: '' });
      if (route === 'GET /files') return Response.json({ files: [...state.files.keys()] });
      if (request.method === 'GET' && url.pathname.startsWith('/files/')) {
        const file = state.files.get(decodeURIComponent(url.pathname.slice('/files/'.length)));
        return file ? new Response(new Uint8Array(file), { headers: { 'Content-Type': 'text/plain' } }) : error(404, 'No such file.', 'not_found');
      }
      if (route === 'POST /uploads') {
        const { files } = JSON.parse(body) as { files: { name: string; content_base64: string }[] };
        const saved = files.map((f) => {
          const path = `files_uploaded/${f.name}`;
          state.files.set(path, Buffer.from(f.content_base64, 'base64'));
          return path;
        });
        return Response.json({ saved_files: saved });
      }
      return error(404, 'Not found.', 'not_found');
    },
  });

  return Object.assign(fake, { url: `http://127.0.0.1:${server.port}`, token, received, failures, users, stop: () => server.stop(true) });
}
