/** The nanobot HTTP-channel contract as a Hono app. */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { requireToken } from './auth.ts';
import { streamReply } from './chat-stream.ts';
import { filesRoutes } from './files-routes.ts';
import { LlmError } from './llm/provider.ts';
import { DEFAULT_SESSION, isSafeId } from './sessions.ts';
import { NoProviderError, type Tutor } from './tutor.ts';
import type { Layout } from './workspace.ts';

export type AppOptions = {
  tutor: Tutor;
  layout: Layout;
  /** When set, every path but /health requires `Authorization: Bearer <token>`. */
  token?: string | undefined;
};

type Env = { Variables: { userId: string; sessionId: string } };

/** Used when no `X-User-ID` comes with a request, e.g. when the agent is run on its own. */
const LOCAL_USER = 'local';

const chatSchema = z.object({ message: z.string().trim().min(1) });

const jsonError = (status: ContentfulStatusCode, message: string) => new HTTPException(status, { message });

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw jsonError(400, 'invalid JSON');
  }
}

/** Both ids end up in file names, so only a safe alphabet is accepted. */
const identity = createMiddleware<Env>(async function identity(c, next) {
  const userId = c.req.header('x-user-id')?.trim() || LOCAL_USER;
  const sessionId = c.req.header('x-session-id')?.trim() || DEFAULT_SESSION;
  if (!isSafeId(userId)) throw jsonError(400, 'invalid X-User-ID: use 1-64 characters from A-Z a-z 0-9 _ -');
  if (!isSafeId(sessionId)) throw jsonError(400, 'invalid X-Session-ID: use 1-64 characters from A-Z a-z 0-9 _ -');
  c.set('userId', userId);
  c.set('sessionId', sessionId);
  await next();
});

function llmFailure(error: unknown): Response {
  // The codes let the web app tell "no model configured" from a tutor that is still starting (both 503).
  if (error instanceof NoProviderError) return Response.json({ error: error.message, code: 'no_provider' }, { status: 503 });
  if (error instanceof LlmError) return Response.json({ error: error.message, code: 'llm_failed' }, { status: 502 });
  throw error;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export function createApp({ tutor, layout, token }: AppOptions): Hono<Env> {
  const app = new Hono<Env>();

  const methodNotAllowed = () => {
    throw jsonError(405, 'method not allowed');
  };

  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.all('/health', methodNotAllowed);
  if (token) app.use('*', requireToken(token));
  app.use('*', identity);

  app.post('/chat', async (c) => {
    const parsed = chatSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw jsonError(400, 'message required');
    if (!tutor.hasProvider) return llmFailure(new NoProviderError());
    const request = { userId: c.var.userId, sessionId: c.var.sessionId, message: parsed.data.message };
    if (c.req.header('accept')?.includes('text/event-stream')) {
      return streamReply(c, (onDelta) => tutor.reply({ ...request, onDelta }), llmFailure);
    }
    try {
      return c.json({ response: await tutor.reply(request) });
    } catch (error) {
      return llmFailure(error);
    }
  });

  app.route('/', filesRoutes({ layout, sessions: (userId) => tutor.sessions.list(userId) }));

  app.get('/memory', async (c) =>
    c.json({ memory: await readOrEmpty(layout.memoryFile), history: await readOrEmpty(layout.historyFile) }),
  );

  app.delete('/conversations', async (c) => {
    await tutor.clear(c.var.userId, c.var.sessionId);
    return c.json({ status: 'cleared' });
  });

  app.get('/sessions', async (c) => c.json({ sessions: await tutor.sessions.list(c.var.userId) }));

  app.delete('/sessions', async (c) => {
    if (!c.req.header('x-session-id')) throw jsonError(400, 'X-Session-ID required: the session to delete');
    const deleted = await tutor.deleteSession(c.var.userId, c.var.sessionId);
    return c.json({ status: deleted ? 'deleted' : 'not_found', session_id: c.var.sessionId });
  });

  for (const path of ['/chat', '/memory', '/conversations', '/sessions']) {
    app.all(path, methodNotAllowed);
  }
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    console.error(error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
