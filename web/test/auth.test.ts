import { afterAll, describe, expect, test } from 'bun:test';
import { LOCAL_SESSION_COOKIE, localUser, passwordMatches, signLocalSession } from '../lib/auth/local.ts';
import { resolveUser } from '../lib/auth/resolve.ts';
import { clientAddress } from '../lib/auth/accounts.ts';
import { sameOriginOrSafe } from '../lib/auth/csrf.ts';
import { authCallback, sendMagicLink, signIn, signOut } from '../lib/auth/routes.ts';
import { authMode, gatewaySettings, publicUrl } from '../lib/settings.ts';

const SECRET = 's'.repeat(32);
const local = authMode({ LOCAL_AUTH_MODE: 'shared', LOCAL_AUTH_PASSWORD: 'hunter2-but-longer', SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: SECRET });

const login = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://web.test/api/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('choosing how students sign in', () => {
  test('Supabase wins when both of its settings are present', () => {
    expect(authMode({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_ANON_KEY: 'k', LOCAL_AUTH_PASSWORD: 'p', SESSION_SECRET: SECRET }).kind).toBe('supabase');
  });

  test('local accounts are the default; a LOCAL_AUTH_PASSWORD alone does not turn the shared password on', () => {
    expect(authMode({ SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: SECRET, LOCAL_AUTH_PASSWORD: 'p' }).kind).toBe('accounts');
  });

  test('the shared mode must be asked for and needs its password', () => {
    const mode = authMode({ LOCAL_AUTH_MODE: 'shared', SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: SECRET });
    expect(mode.kind === 'disabled' && mode.reason).toContain('LOCAL_AUTH_PASSWORD');
    expect(authMode({ LOCAL_AUTH_MODE: 'open', SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: SECRET }).kind).toBe('disabled');
  });

  test('a session or assertion secret shorter than 32 characters turns local sign-in off', () => {
    const mode = authMode({ SESSION_SECRET: 'short', USER_ASSERTION_SECRET: SECRET });
    expect(mode.kind === 'disabled' && mode.reason).toContain('SESSION_SECRET');
    expect(authMode({ SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: 'short' }).kind).toBe('disabled');
  });

  test('the gateway defaults to localhost:8080 and loses a trailing slash', () => {
    expect(gatewaySettings({}).url).toBe('http://localhost:8080');
    expect(gatewaySettings({ GATEWAY_URL: 'http://gateway:8080/' }).url).toBe('http://gateway:8080');
  });
});

describe('shared-password sign-in (LOCAL_AUTH_MODE=shared)', () => {
  test('the right password sets a signed httpOnly SameSite cookie naming the normalised email', async () => {
    const response = await signIn(login({ email: '  Ada@Example.EDU ', password: 'hunter2-but-longer' }), local);
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`${LOCAL_SESSION_COOKIE}=`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie.toLowerCase()).toContain('samesite=lax');
    expect(cookie).not.toContain('Secure');
    if (local.kind !== 'shared') throw new Error('expected shared-password auth');
    const token = cookie.split(';')[0]!.split('=')[1]!;
    expect(await localUser([{ name: LOCAL_SESSION_COOKIE, value: token }], local.secret)).toEqual({ email: 'ada@example.edu' });
  });

  test('behind HTTPS the cookie is marked Secure', async () => {
    const response = await signIn(login({ email: 'a@b.org', password: 'hunter2-but-longer' }, { 'X-Forwarded-Proto': 'https' }), local);
    expect(response.headers.get('set-cookie')).toContain('Secure');
  });

  test('a wrong password or a malformed email is refused without a cookie', async () => {
    for (const body of [{ email: 'a@b.org', password: 'nope' }, { email: 'not-an-email', password: 'hunter2-but-longer' }]) {
      const response = await signIn(login(body), local);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
  });

  test('a cookie signed with another secret is not accepted', async () => {
    const forged = await signLocalSession('mallory@example.com', new TextEncoder().encode('x'.repeat(32)));
    if (local.kind !== 'shared') throw new Error('expected shared-password auth');
    expect(await localUser([{ name: LOCAL_SESSION_COOKIE, value: forged }], local.secret)).toBeNull();
  });

  test('signing out expires the cookie', async () => {
    const response = await signOut(new Request('http://web.test/api/auth/logout', { method: 'POST' }), local);
    expect(response.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  test('password comparison accepts only the exact password', () => {
    expect(passwordMatches('abc', 'abc')).toBe(true);
    expect(passwordMatches('abc', 'abcd')).toBe(false);
  });
});

describe('Supabase sign-in', () => {
  test('a request without a Supabase session cookie has no user', async () => {
    const mode = authMode({ SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_ANON_KEY: 'anon' });
    expect(await resolveUser([{ name: 'sb-127-auth-token', value: 'not-a-session' }], mode)).toBeNull();
  });
});

describe('links and redirects back to the app', () => {
  // A stand-in for Supabase's auth server that records where each magic link would lead.
  const redirects: (string | null)[] = [];
  const supabase = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      redirects.push(new URL(request.url).searchParams.get('redirect_to'));
      return Response.json({});
    },
  });
  afterAll(() => supabase.stop(true));
  const mode = authMode({ SUPABASE_URL: `http://127.0.0.1:${supabase.port}`, SUPABASE_ANON_KEY: 'anon' });
  const spoofed = { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' };
  const magicLink = () =>
    new Request('http://web.test:3000/api/auth/magic-link', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...spoofed },
      body: JSON.stringify({ email: 'ada@example.edu' }),
    });

  test('PUBLIC_URL is read as an origin, and an unset or malformed one counts as not set', () => {
    expect(publicUrl({ PUBLIC_URL: 'https://tutor.example.edu/' })).toBe('https://tutor.example.edu');
    expect(publicUrl({})).toBeUndefined();
    expect(publicUrl({ PUBLIC_URL: 'tutor.example.edu' })).toBeUndefined();
  });

  test('a magic link leads to PUBLIC_URL when it is set, whatever the forwarded headers say', async () => {
    expect((await sendMagicLink(magicLink(), mode, 'https://tutor.example.edu')).status).toBe(200);
    expect(redirects.at(-1)).toStartWith('https://tutor.example.edu/auth/callback');
  });

  test('without PUBLIC_URL a magic link leads to the address the request came to, not a forwarded host', async () => {
    expect((await sendMagicLink(magicLink(), mode, undefined)).status).toBe(200);
    expect(redirects.at(-1)).toStartWith('http://web.test:3000/auth/callback');
  });

  test('the sign-in callback redirects to PUBLIC_URL, or else to a path the browser resolves against the address it used', async () => {
    const callback = () => new Request('http://0.0.0.0:3000/auth/callback', { headers: spoofed });
    expect((await authCallback(callback(), local, 'https://tutor.example.edu')).headers.get('location')).toBe('https://tutor.example.edu/login?error=link');
    const relative = await authCallback(callback(), local, undefined);
    expect(relative.status).toBe(307);
    expect(relative.headers.get('location')).toBe('/login?error=link');
  });
});

describe('cross-site requests and client addresses', () => {
  const req = (method: string, headers: Record<string, string>) => new Request('http://0.0.0.0:3000/api/auth/logout', { method, headers });

  test('a state-changing request needs an Origin of this app', () => {
    expect(sameOriginOrSafe(req('GET', {}), undefined)).toBe(true);
    expect(sameOriginOrSafe(req('POST', {}), undefined)).toBe(false);
    expect(sameOriginOrSafe(req('POST', { Origin: 'https://evil.example', Host: 'tutor.example.edu' }), undefined)).toBe(false);
    expect(sameOriginOrSafe(req('POST', { Origin: 'null', Host: 'tutor.example.edu' }), undefined)).toBe(false);
    expect(sameOriginOrSafe(req('DELETE', { Origin: 'http://localhost:3000', Host: 'localhost:3000' }), undefined)).toBe(true);
    expect(sameOriginOrSafe(req('POST', { Origin: 'https://tutor.example.edu', Host: 'web-ui:3000' }), 'https://tutor.example.edu')).toBe(true);
  });

  test('the client address is the last X-Forwarded-For entry, the one the nearest proxy added', () => {
    expect(clientAddress(req('POST', { 'X-Forwarded-For': '6.6.6.6, 203.0.113.9' }))).toBe('203.0.113.9');
    expect(clientAddress(req('POST', {}))).toBeUndefined();
  });

  test('with PUBLIC_URL on https the session cookie is Secure even over plain HTTP inside', async () => {
    const response = await signIn(login({ email: 'a@b.org', password: 'hunter2-but-longer' }), local, { gateway: gatewaySettings({}), publicUrl: 'https://tutor.example.edu' });
    expect(response.headers.get('set-cookie')).toContain('Secure');
  });
});

describe('local accounts sign-in through the gateway', () => {
  const accounts = authMode({ SESSION_SECRET: SECRET, USER_ASSERTION_SECRET: SECRET });
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const answers: Response[] = [];
  const gateway = {
    url: 'http://gateway.test',
    token: 't',
    fetch: async (url: string, init: RequestInit) => {
      calls.push({ path: new URL(url).pathname, body: JSON.parse(String(init.body)) });
      return answers.shift() ?? Response.json({ error: 'no answer queued' }, { status: 500 });
    },
  };
  const deps = { gateway, publicUrl: undefined };

  test('a right password sets a cookie naming the gateway session; the password and address go to the gateway', async () => {
    answers.push(Response.json({ email: 'ada@example.edu', sessionId: 'sid-1', expiresAt: Date.now() + 3_600_000 }));
    const response = await signIn(login({ email: 'Ada@example.edu', password: 'pw' }, { 'X-Forwarded-For': '203.0.113.9' }), accounts, deps);
    expect(response.status).toBe(200);
    expect(calls.at(-1)).toEqual({ path: '/auth/sign-in', body: { email: 'ada@example.edu', password: 'pw', clientIp: '203.0.113.9' } });
    const token = (response.headers.get('set-cookie') ?? '').split(';')[0]!.split('=')[1]!;
    if (accounts.kind !== 'accounts') throw new Error('expected local accounts');
    expect(await localUser([{ name: LOCAL_SESSION_COOKIE, value: token }], accounts.secret)).toEqual({ email: 'ada@example.edu', sessionId: 'sid-1' });
  });

  test("the gateway's refusals reach the student as a sentence, with Retry-After when throttled", async () => {
    answers.push(Response.json({ code: 'invalid_credentials' }, { status: 401 }));
    expect((await signIn(login({ email: 'a@b.org', password: 'x' }), accounts, deps)).status).toBe(401);
    answers.push(Response.json({ code: 'too_many_attempts' }, { status: 429, headers: { 'Retry-After': '60' } }));
    const throttled = await signIn(login({ email: 'a@b.org', password: 'x' }), accounts, deps);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect(((await throttled.json()) as { error: string }).error).toContain('60 seconds');
  });
});
