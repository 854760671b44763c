import { afterAll, describe, expect, test } from 'bun:test';
import { LOCAL_SESSION_COOKIE, localUser, passwordMatches, signLocalSession } from '../lib/auth/local.ts';
import { resolveUser } from '../lib/auth/resolve.ts';
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
