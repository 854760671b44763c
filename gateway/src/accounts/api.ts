/**
 * The accounts API.
 *
 * `/auth/*`, for the web app (behind GATEWAY_TOKEN): sign in, sign out (here or everywhere),
 * look an invite up, accept it. `/admin/*`, for `bun run students` (behind ADMIN_TOKEN, a
 * different secret, so the web app cannot create accounts): add, invite, disable, enable, delete, list.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { MAX_EMAIL_LENGTH } from '../email.ts';
import { emailSchema, identityFor } from '../identity.ts';
import type { Log } from '../log.ts';
import { tooLarge } from '../middleware/body-limit.ts';
import { FailureLimiter } from './rate-limit.ts';
import { AccountError, type AccountStore } from './store.ts';

export const MIN_PASSWORD = 10;
const MAX_PASSWORD = 1024;

const MAX_STUDENTS = 10_000;

/**
 * The bodies are read whole (MAX_BODY_BYTES bounds only what is proxied, and Bun's own limit is off),
 * so each is bounded by what its largest valid form needs. A sign-in or invite form (an address, a
 * password of at most MAX_PASSWORD, a token) is under 2 KiB: 64 KiB is ample and cheap to buffer.
 * A list of students is MAX_STUDENTS addresses, each quoted and followed by a comma.
 */
const FORM_BYTES = 64 * 1024;
const STUDENT_LIST_BYTES = MAX_STUDENTS * (MAX_EMAIL_LENGTH + 3) + FORM_BYTES;

/** hono/body-limit counts a chunked body too; its refusal is the gateway's JSON 413. */
const limitBody = (maxBytes: number) =>
  bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });

const password = z.string().min(MIN_PASSWORD).max(MAX_PASSWORD);
const clientIp = z.string().trim().max(100).optional();
const token = z.string().min(20).max(200);

/** Log lines name a student by the user id only, never the whole address (issue 11). */
const userIdOf = (email: string) => identityFor(email).id;

const bodies = {
  signIn: z.object({ email: emailSchema, password: z.string().min(1).max(MAX_PASSWORD), clientIp }),
  signOut: z.object({ sessionId: z.string().min(1).max(200), everywhere: z.boolean().default(false) }),
  inviteLookup: z.object({ token, clientIp }),
  inviteAccept: z.object({ token, password, clientIp }),
  students: z.object({ emails: z.array(emailSchema).min(1).max(MAX_STUDENTS) }),
  student: z.object({ email: emailSchema }),
};

async function body<T extends z.ZodType>(c: Context<Env>, schema: T, message: string): Promise<z.output<T>> {
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new GatewayError(400, 'bad_request', message);
  return parsed.data;
}

/** The student's address as the web app reported it, else the caller's own. */
function addressOf(c: Context<Env>, reported: string | undefined): string {
  return reported || c.env?.requestIP?.(c.req.raw)?.address || 'unknown';
}

function throttled(retryMs: number): GatewayError {
  const seconds = Math.ceil(retryMs / 1000);
  return new GatewayError(429, 'too_many_attempts', `Too many failed attempts. Try again in ${seconds} seconds.`, { 'Retry-After': String(seconds) });
}

export type AuthApiOptions = { store: AccountStore; limiter?: FailureLimiter; log: Log };

export function authApi({ store, limiter = new FailureLimiter(), log }: AuthApiOptions) {
  const api = new Hono<Env>();
  api.use(limitBody(FORM_BYTES));

  /** Refuses while the address or the account is blocked, before any password is checked. */
  function checkLimits(keys: string[]): void {
    const wait = Math.max(...keys.map((key) => limiter.retryAfterMs(key)));
    if (wait > 0) throw throttled(wait);
  }

  api.post('/sign-in', async (c) => {
    const { email, password, clientIp } = await body(c, bodies.signIn, 'Send an email address and a password.');
    const address = addressOf(c, clientIp);
    const keys = [`ip:${address}`, `account:${email}`];
    try {
      checkLimits(keys);
    } catch (error) {
      log({ level: 'warn', msg: 'sign-in throttled', requestId: c.var.requestId, userId: userIdOf(email), clientIp: address });
      throw error;
    }
    if (!(await store.checkPassword(email, password))) {
      for (const key of keys) limiter.fail(key);
      log({ level: 'warn', msg: 'sign-in failed', requestId: c.var.requestId, userId: userIdOf(email), clientIp: address });
      throw new GatewayError(401, 'invalid_credentials', 'That email and password do not match an account.');
    }
    limiter.reset(`account:${email}`);
    const session = store.createSession(email);
    log({ level: 'info', msg: 'signed in', requestId: c.var.requestId, userId: userIdOf(email), clientIp: address });
    return c.json({ email, sessionId: session.id, expiresAt: session.expiresAt });
  });

  api.post('/sign-out', async (c) => {
    const { sessionId, everywhere } = await body(c, bodies.signOut, 'Send the session id.');
    const email = store.revoke(sessionId);
    if (email && everywhere) store.revokeAll(email);
    if (email) log({ level: 'info', msg: everywhere ? 'signed out everywhere' : 'signed out', requestId: c.var.requestId, userId: userIdOf(email) });
    return c.json({ signedOut: true });
  });

  /** Invites are 256-bit random, but a caller that keeps sending wrong ones is slowed down all the same. */
  function inviteEmail(c: Context<Env>, invite: string, reported: string | undefined): string {
    const key = `ip:${addressOf(c, reported)}`;
    checkLimits([key]);
    const email = store.inviteEmail(invite);
    if (!email) {
      limiter.fail(key);
      throw new GatewayError(404, 'invite_invalid', 'This invite link is invalid, used or expired. Ask for a new one.');
    }
    return email;
  }

  api.post('/invites/lookup', async (c) => {
    const { token: invite, clientIp } = await body(c, bodies.inviteLookup, 'Send the invite token.');
    return c.json({ email: inviteEmail(c, invite, clientIp) });
  });

  api.post('/invites/accept', async (c) => {
    const { token: invite, password: chosen, clientIp } = await body(c, bodies.inviteAccept, `Send the invite token and a password of ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
    inviteEmail(c, invite, clientIp);
    const session = await store.acceptInvite(invite, chosen);
    if (!session) throw new GatewayError(404, 'invite_invalid', 'This invite link is invalid, used or expired. Ask for a new one.');
    log({ level: 'info', msg: 'invite accepted', requestId: c.var.requestId, userId: userIdOf(session.email) });
    return c.json({ email: session.email, sessionId: session.id, expiresAt: session.expiresAt });
  });

  return api;
}

export type AdminApiOptions = { store: AccountStore; log: Log };

/** Mounted under /admin, where the app checks ADMIN_TOKEN for every admin route. */
export function adminApi({ store, log }: AdminApiOptions) {
  const api = new Hono<Env>();
  api.use('/students/:action', limitBody(FORM_BYTES));

  const accountCall = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      if (error instanceof AccountError) throw new GatewayError(error.code === 'unknown_account' ? 404 : 409, error.code, error.message);
      throw error;
    }
  };

  api.get('/students', (c) => c.json({ students: store.list() }));

  /** Creates the accounts that are missing and invites them; existing accounts are left alone. */
  api.post('/students', limitBody(STUDENT_LIST_BYTES), async (c) => {
    const { emails } = await body(c, bodies.students, 'Send {"emails": [...]} with valid email addresses.');
    const students = [...new Set(emails)].map((email) => {
      if (!store.add(email)) return { email, created: false };
      const invite = store.invite(email);
      return { email, created: true, token: invite.token, expiresAt: invite.expiresAt };
    });
    log({ level: 'info', msg: 'students added', requestId: c.var.requestId, created: students.filter((s) => s.created).length });
    return c.json({ students });
  });

  api.post('/students/invite', async (c) => {
    const { email } = await body(c, bodies.student, 'Send {"email": ...}.');
    const invite = accountCall(() => store.invite(email));
    log({ level: 'info', msg: 'invite issued', requestId: c.var.requestId, userId: userIdOf(email) });
    return c.json({ email, token: invite.token, expiresAt: invite.expiresAt });
  });

  api.post('/students/disable', async (c) => {
    const { email } = await body(c, bodies.student, 'Send {"email": ...}.');
    accountCall(() => store.disable(email));
    log({ level: 'info', msg: 'account disabled', requestId: c.var.requestId, userId: userIdOf(email) });
    return c.json({ email, disabled: true });
  });

  api.post('/students/enable', async (c) => {
    const { email } = await body(c, bodies.student, 'Send {"email": ...}.');
    accountCall(() => store.enable(email));
    log({ level: 'info', msg: 'account enabled', requestId: c.var.requestId, userId: userIdOf(email) });
    return c.json({ email, disabled: false });
  });

  /** The account only: `bun run students delete` removes the tutor and moves the folder aside first. */
  api.post('/students/delete', async (c) => {
    const { email } = await body(c, bodies.student, 'Send {"email": ...}.');
    accountCall(() => store.delete(email));
    log({ level: 'info', msg: 'account deleted', requestId: c.var.requestId, userId: userIdOf(email) });
    return c.json({ email, deleted: true });
  });

  return api;
}
