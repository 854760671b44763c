/**
 * A stand-in for Supabase's auth server (GoTrue) on a real socket, enough for the real
 * `@supabase/ssr` client: sign-up with confirmation, password sign-in, magic links, password
 * recovery, the PKCE code exchange, a Google "provider" that signs one user in at once, the user
 * endpoint and the JWKS. Access tokens are ES256, as in a project with asymmetric signing keys.
 * Mails are not sent but kept in `outbox`, where the tests read the links.
 */
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';

export type Mail = { to: string; kind: 'confirm' | 'magiclink' | 'recovery'; link: string };
type FakeUser = { id: string; email: string; password: string | null; confirmed: boolean; provider: string };
type PendingCode = { email: string; challenge: string | null; method: string | null };

export type FakeSupabase = { url: string; outbox: Mail[]; googleEmail: string; stop: () => Promise<void> };

const KID = 'fake-supabase-key';

export async function startFakeSupabase({ googleEmail = 'grace.google@example.edu' } = {}): Promise<FakeSupabase> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const users = new Map<string, FakeUser>();
  const codes = new Map<string, PendingCode>();
  const refreshTokens = new Map<string, string>();
  const outbox: Mail[] = [];
  let issuer = '';

  const userJson = (user: FakeUser) => ({
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email,
    email_confirmed_at: user.confirmed ? new Date().toISOString() : null,
    phone: '',
    app_metadata: { provider: user.provider, providers: [user.provider] },
    user_metadata: {},
    identities: [],
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  });

  async function session(user: FakeUser) {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ email: user.email, role: 'authenticated', session_id: randomUUID(), aal: 'aal1', is_anonymous: false })
      .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience('authenticated')
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    const refreshToken = randomUUID();
    refreshTokens.set(refreshToken, user.email);
    return Response.json({ access_token: accessToken, token_type: 'bearer', expires_in: 3600, expires_at: now + 3600, refresh_token: refreshToken, user: userJson(user) });
  }

  const fail = (status: number, code: string, msg: string) => Response.json({ code: status, error_code: code, msg }, { status });

  function user(email: string, provider = 'email'): FakeUser {
    let found = users.get(email);
    if (!found) {
      found = { id: randomUUID(), email, password: null, confirmed: false, provider };
      users.set(email, found);
    }
    return found;
  }

  /** GoTrue's PKCE links land on redirect_to with a one-time code. */
  function codeLink(redirectTo: string | null, email: string, body: { code_challenge?: string | null; code_challenge_method?: string | null }): string {
    const code = randomUUID();
    codes.set(code, { email, challenge: body.code_challenge ?? null, method: body.code_challenge_method ?? null });
    const target = new URL(redirectTo ?? '/');
    target.searchParams.set('code', code);
    return target.toString();
  }

  async function bearerUser(request: Request): Promise<FakeUser | undefined> {
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, publicKey, { issuer });
      return users.get(String(payload.email));
    } catch {
      return undefined;
    }
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const path = url.pathname.replace(/^\/auth\/v1/, '');
      const body = request.method === 'POST' || request.method === 'PUT' ? ((await request.json().catch(() => ({}))) as Record<string, string | null>) : {};
      const redirectTo = url.searchParams.get('redirect_to');
      const route = `${request.method} ${path}`;
      if (route === 'GET /.well-known/jwks.json') return Response.json({ keys: [jwk] });
      if (route === 'POST /signup') {
        const email = String(body.email).toLowerCase();
        if (users.get(email)?.confirmed) return fail(422, 'user_already_exists', 'User already registered');
        const created = user(email);
        created.password = String(body.password);
        outbox.push({ to: email, kind: 'confirm', link: codeLink(redirectTo, email, body) });
        return Response.json(userJson(created));
      }
      if (route === 'POST /otp') {
        const email = String(body.email).toLowerCase();
        user(email).confirmed = true;
        outbox.push({ to: email, kind: 'magiclink', link: codeLink(redirectTo, email, body) });
        return Response.json({});
      }
      if (route === 'POST /recover') {
        const email = String(body.email).toLowerCase();
        if (users.has(email)) outbox.push({ to: email, kind: 'recovery', link: codeLink(redirectTo, email, body) });
        return Response.json({});
      }
      if (route === 'GET /authorize') {
        // The provider's consent screen, skipped: the browser comes straight back with a code.
        const google = user(googleEmail, 'google');
        google.confirmed = true;
        return Response.redirect(codeLink(redirectTo, google.email, { code_challenge: url.searchParams.get('code_challenge'), code_challenge_method: url.searchParams.get('code_challenge_method') }), 302);
      }
      if (route === 'POST /token') {
        const grant = url.searchParams.get('grant_type');
        if (grant === 'password') {
          const found = users.get(String(body.email).toLowerCase());
          if (!found || !found.confirmed || found.password !== body.password) return fail(400, 'invalid_credentials', 'Invalid login credentials');
          return session(found);
        }
        if (grant === 'pkce') {
          const pending = codes.get(String(body.auth_code));
          codes.delete(String(body.auth_code));
          const verifier = String(body.code_verifier);
          const expected = pending?.method === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
          if (!pending || pending.challenge !== expected) return fail(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
          const found = users.get(pending.email)!;
          found.confirmed = true;
          return session(found);
        }
        if (grant === 'refresh_token') {
          const email = refreshTokens.get(String(body.refresh_token));
          return email ? session(users.get(email)!) : fail(400, 'refresh_token_not_found', 'Invalid Refresh Token');
        }
        return fail(400, 'unsupported_grant_type', 'unsupported grant type');
      }
      if (path === '/user') {
        const found = await bearerUser(request);
        if (!found) return fail(401, 'bad_jwt', 'invalid JWT');
        if (request.method === 'PUT' && typeof body.password === 'string') found.password = body.password;
        return Response.json(userJson(found));
      }
      if (route === 'POST /logout') return new Response(null, { status: 204 });
      return fail(404, 'not_found', `no route ${route}`);
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  issuer = `${url}/auth/v1`;
  return { url, outbox, googleEmail, stop: () => server.stop(true) };
}
