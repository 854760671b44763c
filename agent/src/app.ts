/** The nanobot HTTP-channel contract as a Hono app. */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { requireToken } from './auth.ts';
import { streamReply } from './chat-stream.ts';
import { ApiError, errorBody } from './errors.ts';
import { filesRoutes } from './files-routes.ts';
import { readImages } from './images.ts';
import { DEFAULT_SESSION, isSafeId } from './sessions.ts';
import type { Tutor } from './tutor.ts';
import type { Uploads } from './uploads.ts';
import type { Layout } from './workspace.ts';

export type AppOptions = {
  tutor: Tutor;
  layout: Layout;
  /** When set, every path but /health requires `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Shared with the tutor, whose notes count towards the same quota. */
  uploads: Uploads;
};

type Env = { Variables: { userId: string; sessionId: string } };

/** Used when no `X-User-ID` comes with a request, e.g. when the agent is run on its own. */
const LOCAL_USER = 'local';

const chatSchema = z.object({
  message: z.string().trim().min(1),
  images: z.array(z.string().min(1).max(512)).optional(),
  replace_last_turn: z.boolean().optional(),
});

const renameSchema = z.object({ title: z.string().trim().min(1).max(120) });

/** Every error leaves through `onError` as `{error, code}`; without a code, one follows from the status. */
const jsonError = (status: ContentfulStatusCode, message: string, code?: string) => new ApiError(status, message, code);

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw jsonError(400, 'invalid JSON', 'invalid_json');
  }
}

/** Both ids end up in file names, so only a safe alphabet is accepted. */
const identity = createMiddleware<Env>(async function identity(c, next) {
  const userId = c.req.header('x-user-id')?.trim() || LOCAL_USER;
  const sessionId = c.req.header('x-session-id')?.trim() || DEFAULT_SESSION;
  if (!isSafeId(userId)) throw jsonError(400, 'invalid X-User-ID: use 1-64 characters from A-Z a-z 0-9 _ -', 'invalid_user_id');
  if (!isSafeId(sessionId)) throw jsonError(400, 'invalid X-Session-ID: use 1-64 characters from A-Z a-z 0-9 _ -', 'invalid_session_id');
  c.set('userId', userId);
  c.set('sessionId', sessionId);
  await next();
});

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export function createApp({ tutor, layout, token, uploads }: AppOptions): Hono<Env> {
  const app = new Hono<Env>();

  const methodNotAllowed = () => {
    throw jsonError(405, 'method not allowed', 'method_not_allowed');
  };

  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.all('/health', methodNotAllowed);
  if (token) app.use('*', requireToken(token));
  app.use('*', identity);

  app.post('/chat', async (c) => {
    const parsed = chatSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      if (field === 'images') throw jsonError(400, 'images must be a list of uploaded file paths', 'invalid_images');
      if (field === 'replace_last_turn') throw jsonError(400, 'replace_last_turn must be true or false', 'bad_request');
      throw jsonError(400, 'message required', 'message_required');
    }
    const { message, images = [], replace_last_turn: replaceLastTurn } = parsed.data;
    const request = {
      userId: c.var.userId,
      sessionId: c.var.sessionId,
      message,
      replaceLastTurn,
      ...(images.length ? { images: { paths: images, inputs: await readImages(layout, images) } } : {}),
      // Bun aborts the request's signal when the client disconnects: the answer stops and keeps what came.
      signal: c.req.raw.signal,
    };
    if (c.req.header('accept')?.includes('text/event-stream')) {
      return streamReply(c, (onDelta) => tutor.reply({ ...request, onDelta }));
    }
    return c.json({ response: await tutor.reply(request) });
  });

  app.route('/', filesRoutes({ layout, sessions: (userId) => tutor.sessions.list(userId), uploads }));

  app.get('/memory', async (c) =>
    c.json({ memory: await readOrEmpty(layout.memoryFile), history: await readOrEmpty(layout.historyFile) }),
  );

  app.delete('/conversations', async (c) => {
    await tutor.clear(c.var.userId, c.var.sessionId);
    return c.json({ status: 'cleared' });
  });

  app.get('/sessions', async (c) => c.json({ sessions: await tutor.sessions.list(c.var.userId) }));

  app.delete('/sessions', async (c) => {
    if (!c.req.header('x-session-id')) throw jsonError(400, 'X-Session-ID required: the session to delete', 'session_id_required');
    const deleted = await tutor.deleteSession(c.var.userId, c.var.sessionId);
    return c.json({ status: deleted ? 'deleted' : 'not_found', session_id: c.var.sessionId });
  });

  app.patch('/sessions', async (c) => {
    if (!c.req.header('x-session-id')) throw jsonError(400, 'X-Session-ID required: the session to rename', 'session_id_required');
    const parsed = renameSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw jsonError(400, 'title required: 1-120 characters', 'invalid_title');
    if (!(await tutor.rename(c.var.userId, c.var.sessionId, parsed.data.title))) {
      throw jsonError(404, `no such session: ${c.var.sessionId}`, 'session_not_found');
    }
    return c.json({ status: 'renamed' });
  });

  for (const path of ['/chat', '/memory', '/conversations', '/sessions']) {
    app.all(path, methodNotAllowed);
  }
  app.notFound((c) => c.json({ error: `not found: ${c.req.path}`, code: 'not_found' }, 404));
  app.onError((error, c) => {
    // hono/bearer-auth throws with its response already built (our body, plus WWW-Authenticate).
    if (error instanceof HTTPException && error.res) return error.getResponse();
    const { status, body } = errorBody(error);
    return c.json(body, status);
  });
  return app;
}
