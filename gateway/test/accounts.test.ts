/**
 * Local accounts in the gateway, with a fake runtime and a real SQLite file: invites, sign-in,
 * rate limiting, sessions, and that every proxied route serves only the verified user.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { createUsers, openAccountStore } from '../src/accounts/index.ts';
import { FailureLimiter } from '../src/accounts/rate-limit.ts';
import { AccountStore } from '../src/accounts/store.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { parseDuration } from '../src/duration.ts';
import { openStateDb, statePath } from '../src/state/db.ts';
import { stubRuntime as runtime, testSettings, TOKEN, userSettings as loadUserSettings } from './helpers.ts';

const SECRET = 'a-user-assertion-secret-of-32-chars!';
const ADMIN = 'an-admin-token-for-tests';
const PASSWORD = 'a long enough password';
const dirs: string[] = [];
/** Argon2id at 1 MiB keeps these tests fast; the production cost is Bun's default. */
const argon2 = { memoryCost: 1024, timeCost: 1 };

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbtest-accounts-'));
  dirs.push(dir);
  return dir;
}

/** Which agent each request reached: the fake agent answers with the user id the gateway sent. */
const agentFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const req = new Request(input, init);
  if (new URL(req.url).pathname === '/health') return Response.json({ status: 'ok' });
  return Response.json({ userId: req.headers.get('x-user-id'), assertion: req.headers.get('x-user-assertion') });
}) as typeof fetch;

type Clock = { now: number };

function gateway(dir = dataDir(), env: Record<string, string> = {}, clock?: Clock) {
  const settings = loadUserSettings({ USER_ASSERTION_SECRET: SECRET, ADMIN_TOKEN: ADMIN, ...env });
  const now = clock ? () => clock.now : Date.now;
  const store = new AccountStore({ db: openStateDb(dir), inviteTtlMs: settings.inviteTtlMs, now, argon2 });
  const limiter = new FailureLimiter({ now });
  const users = createUsers({ settings, store, limiter, log: () => {} });
  const app = createApp({ settings: testSettings({ START_TIMEOUT_MS: '300', ADMIN_TOKEN: ADMIN, ...env }), runtime, users, routes: new RouteTable(), fetch: agentFetch, log: () => {} });
  return { app, store, dir };
}

type App = ReturnType<typeof gateway>['app'];

const web = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
const admin = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
const post = (app: App, path: string, body: unknown, headers: Record<string, string> = web) =>
  app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });

async function assertion(email: string, sid: string | undefined, { secret = SECRET, expiresIn = '60s', iat }: { secret?: string; expiresIn?: string | number; iat?: number } = {}) {
  const jwt = new SignJWT(sid ? { sid } : {}).setProtectedHeader({ alg: 'HS256' }).setSubject(email).setIssuer('nanobot-web').setAudience('nanobot-gateway');
  jwt.setIssuedAt(iat);
  return jwt.setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
}

/** Adds a student through the admin API, accepts the invite, and returns the session id. */
async function student(app: App, email: string): Promise<string> {
  const added = (await (await post(app, '/admin/students', { emails: [email] }, admin)).json()) as { students: { token: string }[] };
  const accepted = await post(app, '/auth/invites/accept', { token: added.students[0]!.token, password: PASSWORD });
  expect(accepted.status).toBe(200);
  return ((await accepted.json()) as { sessionId: string }).sessionId;
}

const PROXIED: [string, string][] = [
  ['POST', '/chat'],
  ['GET', '/files'],
  ['GET', '/files/notes.md'],
  ['POST', '/uploads'],
  ['GET', '/memory'],
  ['GET', '/health'],
  ['DELETE', '/conversations'],
  ['GET', '/sessions'],
];

describe('the state database', () => {
  test('lives in a dot-folder no student id can name, 0700, with the file 0600', () => {
    const dir = dataDir();
    openStateDb(dir).close();
    expect(statSync(join(dir, '.state')).mode & 0o777).toBe(0o700);
    expect(statSync(statePath(dir)).mode & 0o777).toBe(0o600);
    for (const email of ['.state@x.com', '_.state@x.com', 'a@b.c']) expect(identityFor(email).id.startsWith('.')).toBe(false);
  });

  test('keeps accounts and sessions across a restart (a new process opening the same file)', async () => {
    const first = gateway();
    const sid = await student(first.app, 'ada@example.edu');
    const second = gateway(first.dir);
    expect(second.store.sessionActive(sid, 'ada@example.edu')).toBe(true);
    const res = await post(second.app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD });
    expect(res.status).toBe(200);
  });

  test('openAccountStore opens the file under DATA_DIR', () => {
    const dir = dataDir();
    openAccountStore(loadUserSettings({ USER_ASSERTION_SECRET: SECRET, DATA_DIR: dir })).add('x@y.z');
    expect(statSync(statePath(dir)).size).toBeGreaterThan(0);
  });
});

describe('request bodies', () => {
  async function expectTooLarge(res: Response) {
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large');
  }
  const streamOf = (text: string) => new Blob([text]).stream();

  test('the auth forms and the admin account routes are refused with a JSON 413 past their bound, declared or chunked', async () => {
    const { app } = gateway();
    const form = JSON.stringify({ email: 'ada@example.edu', password: 'p'.repeat(65 * 1024) });
    for (const path of ['/auth/sign-in', '/auth/sign-out', '/auth/invites/lookup', '/auth/invites/accept']) {
      await expectTooLarge(await app.request(path, { method: 'POST', headers: { ...web, 'Content-Length': String(form.length) }, body: form }));
      await expectTooLarge(await app.request(path, { method: 'POST', headers: web, body: streamOf(form) }));
    }
    await expectTooLarge(await app.request('/admin/students/invite', { method: 'POST', headers: admin, body: streamOf(form) }));
    const list = JSON.stringify({ emails: ['x'.repeat(3 * 1024 * 1024)] });
    await expectTooLarge(await app.request('/admin/students', { method: 'POST', headers: admin, body: streamOf(list) }));
  });

  test('a list of students may be far larger than a form', async () => {
    const { app } = gateway();
    const domain = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`;
    const emails = Array.from({ length: 600 }, (_, i) => `student${i}@${domain}`);
    const res = await post(app, '/admin/students', { emails }, admin);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { students: unknown[] }).students).toHaveLength(600);
  });
});

describe('invites', () => {
  test('the admin API needs ADMIN_TOKEN, not GATEWAY_TOKEN', async () => {
    const { app } = gateway();
    expect((await post(app, '/admin/students', { emails: ['a@b.co'] })).status).toBe(401);
    expect((await app.request('/admin/students', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await app.request('/admin/students', { headers: admin })).status).toBe(200);
  });

  test('an invite works once; a replayed one is refused', async () => {
    const { app } = gateway();
    const added = (await (await post(app, '/admin/students', { emails: ['ada@example.edu', 'ADA@example.edu '] }, admin)).json()) as { students: { token: string; created: boolean }[] };
    expect(added.students).toHaveLength(1);
    const { token } = added.students[0]!;
    expect(await (await post(app, '/auth/invites/lookup', { token })).json()).toEqual({ email: 'ada@example.edu' });
    expect((await post(app, '/auth/invites/accept', { token, password: 'short' })).status).toBe(400);
    expect((await post(app, '/auth/invites/accept', { token, password: PASSWORD })).status).toBe(200);
    const replay = await post(app, '/auth/invites/accept', { token, password: 'an attacker password' });
    expect(replay.status).toBe(404);
    expect(((await replay.json()) as { code: string }).code).toBe('invite_invalid');
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: 'an attacker password' })).status).toBe(401);
  });

  test('an invite expires after INVITE_TTL', async () => {
    const clock = { now: Date.now() };
    const { app } = gateway(undefined, { INVITE_TTL: '1h' }, clock);
    const added = (await (await post(app, '/admin/students', { emails: ['late@example.edu'] }, admin)).json()) as { students: { token: string }[] };
    clock.now += 3_600_001;
    expect((await post(app, '/auth/invites/accept', { token: added.students[0]!.token, password: PASSWORD })).status).toBe(404);
  });

  test('a new invite resets the password, voids the old invite and ends every session', async () => {
    const { app, store } = gateway();
    const sid = await student(app, 'ada@example.edu');
    const old = (await (await post(app, '/admin/students/invite', { email: 'ada@example.edu' }, admin)).json()) as { token: string };
    const fresh = (await (await post(app, '/admin/students/invite', { email: 'ada@example.edu' }, admin)).json()) as { token: string };
    expect((await post(app, '/auth/invites/lookup', { token: old.token })).status).toBe(404);
    expect((await post(app, '/auth/invites/accept', { token: fresh.token, password: 'a brand new password' })).status).toBe(200);
    expect(store.sessionActive(sid, 'ada@example.edu')).toBe(false);
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).status).toBe(401);
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: 'a brand new password' })).status).toBe(200);
  });

  test('disabling ends the sessions and refuses sign-in; invites for it are refused', async () => {
    const { app, store } = gateway();
    const sid = await student(app, 'ada@example.edu');
    expect((await post(app, '/admin/students/disable', { email: 'ada@example.edu' }, admin)).status).toBe(200);
    expect(store.sessionActive(sid, 'ada@example.edu')).toBe(false);
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).status).toBe(401);
    expect((await post(app, '/admin/students/invite', { email: 'ada@example.edu' }, admin)).status).toBe(409);
    expect((await post(app, '/admin/students/disable', { email: 'nobody@example.edu' }, admin)).status).toBe(404);
    const listed = (await (await app.request('/admin/students', { headers: admin })).json()) as { students: { email: string; disabled: boolean }[] };
    expect(listed.students).toEqual([expect.objectContaining({ email: 'ada@example.edu', disabled: true, hasPassword: true, activeSessions: 0 })]);
  });
  test('deleting an account ends its sessions, voids its invites and forgets it; the address can be added again', async () => {
    const { app, store } = gateway();
    const sid = await student(app, 'ada@example.edu');
    const pending = (await (await post(app, '/admin/students', { emails: ['bo@example.edu'] }, admin)).json()) as { students: { token: string }[] };
    expect((await post(app, '/admin/students/delete', { email: 'ada@example.edu' }, admin)).status).toBe(200);
    expect((await post(app, '/admin/students/delete', { email: 'bo@example.edu' }, admin)).status).toBe(200);
    expect(store.sessionActive(sid, 'ada@example.edu')).toBe(false);
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).status).toBe(401);
    expect((await post(app, '/auth/invites/lookup', { token: pending.students[0]!.token })).status).toBe(404);
    expect(((await (await app.request('/admin/students', { headers: admin })).json()) as { students: unknown[] }).students).toEqual([]);
    expect((await post(app, '/admin/students/delete', { email: 'ada@example.edu' }, admin)).status).toBe(404);
    expect((await post(app, '/admin/students/delete', { email: 'ada@example.edu' })).status).toBe(401);
    const again = (await (await post(app, '/admin/students', { emails: ['ada@example.edu'] }, admin)).json()) as { students: { created: boolean }[] };
    expect(again.students[0]!.created).toBe(true);
  });
});

describe('sign-in', () => {
  test('a wrong password and an unknown account get the same answer', async () => {
    const { app } = gateway();
    await student(app, 'ada@example.edu');
    const wrong = await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: 'not the password' });
    const unknown = await post(app, '/auth/sign-in', { email: 'nobody@example.edu', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (body: unknown) => ({ ...(body as object), requestId: '' });
    expect(strip(await wrong.json())).toEqual(strip(await unknown.json()));
  });

  test('logs failures without the password', async () => {
    const lines: string[] = [];
    const dir = dataDir();
    const settings = loadUserSettings({ USER_ASSERTION_SECRET: SECRET });
    const users = createUsers({ settings, store: new AccountStore({ db: openStateDb(dir), inviteTtlMs: 1000, argon2 }), log: (l) => lines.push(JSON.stringify(l)) });
    const app = createApp({ settings: testSettings(), runtime, users, routes: new RouteTable(), fetch: agentFetch, log: () => {} });
    await post(app, '/auth/sign-in', { email: 'eve@example.edu', password: 'hunter2-secret', clientIp: '203.0.113.9' });
    expect(lines.join('\n')).toContain('sign-in failed');
    expect(lines.join('\n')).toContain('203.0.113.9');
    expect(lines.join('\n')).not.toContain('hunter2-secret');
  });

  test('five failures a minute block the account with 429 and Retry-After, which then recovers', async () => {
    const clock = { now: Date.now() };
    const { app } = gateway(undefined, {}, clock);
    await student(app, 'ada@example.edu');
    for (let i = 0; i < 5; i++) {
      expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: `guess ${i}`, clientIp: `198.51.100.${i}` })).status).toBe(401);
    }
    const blocked = await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD, clientIp: '198.51.100.200' });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(((await blocked.json()) as { code: string }).code).toBe('too_many_attempts');
    clock.now += 61_000;
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).status).toBe(200);
  });

  test('five failures from one address block it for every account, with a growing back-off', async () => {
    const clock = { now: Date.now() };
    const { app } = gateway(undefined, {}, clock);
    await student(app, 'ada@example.edu');
    const spray = async () => {
      for (let i = 0; i < 5; i++) await post(app, '/auth/sign-in', { email: `user${i}@example.edu`, password: 'Password1!', clientIp: '192.0.2.7' });
    };
    await spray();
    const blocked = await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD, clientIp: '192.0.2.7' });
    expect(blocked.status).toBe(429);
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD, clientIp: '192.0.2.8' })).status).toBe(200);
    clock.now += 61_000;
    await spray();
    expect((await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD, clientIp: '192.0.2.7' })).headers.get('retry-after')).toBe('120');
  });

  test('parses INVITE_TTL and refuses a bad one', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(() => loadUserSettings({ USER_ASSERTION_SECRET: SECRET, INVITE_TTL: 'soon' })).toThrow(/INVITE_TTL/);
    expect(() => loadUserSettings({})).toThrow(/USER_ASSERTION_SECRET is required/);
    expect(() => loadUserSettings({ USER_ASSERTION_SECRET: 'short' })).toThrow(/USER_ASSERTION_SECRET must be at least 32/);
  });
});

describe('the gateway verifies who the user is', () => {
  test('a signed assertion reaches the own tutor on every proxied route; the assertion is not forwarded', async () => {
    const { app } = gateway();
    const sid = await student(app, 'ada@example.edu');
    for (const [method, path] of PROXIED) {
      const res = await app.request(path, { method, headers: { ...web, 'X-User-Assertion': await assertion('ada@example.edu', sid) } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { userId: string; assertion: string | null };
      if (path === '/health') continue;
      expect(body.userId).toBe(identityFor('ada@example.edu').id);
      expect(body.assertion).toBeNull();
    }
  });

  test('refuses, on every proxied route, anything but a valid assertion for the own session', async () => {
    const { app } = gateway();
    const ada = await student(app, 'ada@example.edu');
    const bob = await student(app, 'bob@example.edu');
    const attempts: [string, Record<string, string>, number, string][] = [
      ['no assertion, only an email', { 'X-User-Email': 'ada@example.edu' }, 401, 'identity_required'],
      ['forged: another secret', { 'X-User-Assertion': await assertion('ada@example.edu', ada, { secret: 'x'.repeat(40) }) }, 401, 'invalid_assertion'],
      ['expired', { 'X-User-Assertion': await assertion('ada@example.edu', ada, { expiresIn: Math.floor(Date.now() / 1000) - 1 }) }, 401, 'invalid_assertion'],
      ['too old', { 'X-User-Assertion': await assertion('ada@example.edu', ada, { iat: Math.floor(Date.now() / 1000) - 600, expiresIn: '1h' }) }, 401, 'invalid_assertion'],
      ["Bob's session, Ada's email", { 'X-User-Assertion': await assertion('ada@example.edu', bob) }, 401, 'session_ended'],
      ['no session id', { 'X-User-Assertion': await assertion('ada@example.edu', undefined) }, 401, 'invalid_assertion'],
      ['a mismatching X-User-Email', { 'X-User-Assertion': await assertion('bob@example.edu', bob), 'X-User-Email': 'ada@example.edu' }, 403, 'identity_mismatch'],
      ['garbage', { 'X-User-Assertion': 'not.a.jwt' }, 401, 'invalid_assertion'],
      ['alg none', { 'X-User-Assertion': `${btoa('{"alg":"none"}')}.${btoa(JSON.stringify({ sub: 'ada@example.edu', sid: ada }))}.` }, 401, 'invalid_assertion'],
    ];
    for (const [method, path] of PROXIED) {
      for (const [what, headers, status, code] of attempts) {
        const res = await app.request(path, { method, headers: { ...web, ...headers } });
        expect({ what, path, status: res.status, code: ((await res.json()) as { code: string }).code }).toEqual({ what, path, status, code });
      }
    }
  });

  test('signing out ends the session at once; signing out everywhere ends them all', async () => {
    const { app } = gateway();
    const first = await student(app, 'ada@example.edu');
    const second = ((await (await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).json()) as { sessionId: string }).sessionId;
    const third = ((await (await post(app, '/auth/sign-in', { email: 'ada@example.edu', password: PASSWORD })).json()) as { sessionId: string }).sessionId;
    const memory = async (sid: string) => (await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await assertion('ada@example.edu', sid) } })).status;
    expect(await memory(first)).toBe(200);
    await post(app, '/auth/sign-out', { sessionId: first });
    expect(await memory(first)).toBe(401);
    expect(await memory(second)).toBe(200);
    await post(app, '/auth/sign-out', { sessionId: second, everywhere: true });
    expect(await memory(second)).toBe(401);
    expect(await memory(third)).toBe(401);
  });

  test('the shared-password mode accepts assertions without a session; X-User-Email alone only when trusted', async () => {
    const shared = createUsers({ settings: loadUserSettings({ USER_ASSERTION_SECRET: SECRET, LOCAL_AUTH_MODE: 'shared' }), log: () => {} });
    const app = createApp({ settings: testSettings(), runtime, users: shared, routes: new RouteTable(), fetch: agentFetch, log: () => {} });
    expect((await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await assertion('ada@example.edu', undefined) } })).status).toBe(200);
    expect((await app.request('/memory', { headers: { ...web, 'X-User-Email': 'ada@example.edu' } })).status).toBe(401);
    const trusting = createUsers({ settings: loadUserSettings({ GATEWAY_TRUST_EMAIL_HEADER: '1' }), log: () => {} });
    const open = createApp({ settings: testSettings(), runtime, users: trusting, routes: new RouteTable(), fetch: agentFetch, log: () => {} });
    expect((await open.request('/memory', { headers: { ...web, 'X-User-Email': 'ada@example.edu' } })).status).toBe(200);
  });
});

describe('Supabase access tokens as assertions', () => {
  test('are verified against the project JWKS, fetched once, and refused when signed by another key or for another project', async () => {
    const { exportJWK, generateKeyPair } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    let fetches = 0;
    const supabase = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(request) {
        if (new URL(request.url).pathname !== '/auth/v1/.well-known/jwks.json') return new Response('no', { status: 404 });
        fetches += 1;
        return Response.json({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
      },
    });
    try {
      const url = `http://127.0.0.1:${supabase.port}`;
      const users = createUsers({ settings: loadUserSettings({ SUPABASE_URL: url }), log: () => {} });
      const app = createApp({ settings: testSettings(), runtime, users, routes: new RouteTable(), fetch: agentFetch, log: () => {} });
      const token = (key: CryptoKey, issuer = `${url}/auth/v1`) =>
        new SignJWT({ email: 'Ada@Example.edu', role: 'authenticated' })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(issuer)
          .setAudience('authenticated')
          .setSubject('0b7e9c1e-uuid')
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(key);
      for (let i = 0; i < 3; i++) {
        const res = await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await token(privateKey) } });
        expect(((await res.json()) as { userId: string }).userId).toBe(identityFor('ada@example.edu').id);
      }
      expect(fetches).toBe(1);
      expect((await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await token(other.privateKey) } })).status).toBe(401);
      expect((await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await token(privateKey, 'https://other.supabase.co/auth/v1') } })).status).toBe(401);
      expect((await app.request('/memory', { headers: { ...web, 'X-User-Assertion': await assertion('ada@example.edu', 'sid') } })).status).toBe(401);
    } finally {
      await supabase.stop(true);
    }
  });
});

describe('Argon2id work', () => {
  test('at most two hashes run at once, however many sign-ins arrive together', async () => {
    const store = new AccountStore({ db: openStateDb(dataDir()), inviteTtlMs: 1000, argon2 });
    const original = Bun.password.verify;
    let running = 0;
    let most = 0;
    Bun.password.verify = (async (...args: Parameters<typeof original>) => {
      running += 1;
      most = Math.max(most, running);
      try {
        return await original(...args);
      } finally {
        running -= 1;
      }
    }) as typeof original;
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => store.checkPassword(`u${i}@example.edu`, 'a guess')));
      expect(answers).toEqual(Array(8).fill(false));
      expect(most).toBe(2);
    } finally {
      Bun.password.verify = original;
    }
  });
});
