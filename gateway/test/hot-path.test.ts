/** The shortcuts of the hot path give the same answers as the long way they replace. */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Hono } from 'hono';
import type { Env } from '../src/env.ts';
import { errorHandler } from '../src/errors.ts';
import { auth } from '../src/middleware/auth.ts';
import { identity } from '../src/middleware/identity.ts';
import { instanceName } from '../src/middleware/instance-name.ts';
import { emailSchema, identityFor } from '../src/identity.ts';
import { pathOf, splitUrl } from '../src/target.ts';

describe('splitUrl and pathOf', () => {
  test.each(['http://127.0.0.1:8080/files/a%20b?x=1&y=%2F', 'https://gateway.example/chat', 'http://h/', 'http://h/files/%2e%2e/x?q=a?b'])('match new URL for %p, serialised as Bun hands it to the server', (raw) => {
    const url = new URL(raw);
    expect(splitUrl(url.href)).toEqual({ protocol: url.protocol, host: url.host, target: url.pathname + url.search });
    expect(pathOf(url.href)).toBe(url.pathname);
  });
});

function identityApp() {
  const app = new Hono<Env>();
  app.onError(errorHandler(() => {}));
  app.use(identity());
  app.get('/', (c) => c.json(c.get('identity')));
  return app;
}

describe('identity with its cache of validated emails', () => {
  test('gives what zod and identityFor give, the first time and from the cache', async () => {
    const app = identityApp();
    for (let round = 0; round < 2; round += 1) {
      const res = await app.request('/', { headers: { 'X-User-Email': ' Bob@Example.COM ' } });
      expect(await res.json()).toEqual(identityFor(emailSchema.parse(' Bob@Example.COM ')));
    }
  });

  test('still refuses what zod refuses, however often it is sent', async () => {
    const app = identityApp();
    for (const email of ['not an email', `${'a'.repeat(250)}@b.com`, 'not an email']) {
      const res = await app.request('/', { headers: { 'X-User-Email': email } });
      expect(res.status).toBe(400);
    }
  });

  test('keeps answering correctly past the cache bound', async () => {
    const app = identityApp();
    for (let i = 0; i < 10_050; i += 1) {
      const res = await app.request('/', { headers: { 'X-User-Email': `user${i}@example.com` } });
      if (i % 1_000 === 0 || i > 10_000) expect(((await res.json()) as { email: string }).email).toBe(`user${i}@example.com`);
    }
    const first = await app.request('/', { headers: { 'X-User-Email': 'user0@example.com' } });
    expect(await first.json()).toEqual(identityFor('user0@example.com'));
  });
});

describe('instanceName with its renamed identities kept', () => {
  test('gives what identityFor gives for the instance, the first time and again, for each user', async () => {
    const app = new Hono<Env>();
    app.onError(errorHandler(() => {}));
    app.use(identity(), instanceName('school-b'));
    app.get('/', (c) => c.json(c.get('identity')));
    for (let round = 0; round < 2; round += 1) {
      for (const email of ['bob@example.com', 'ann@example.com']) {
        const res = await app.request('/', { headers: { 'X-User-Email': email } });
        expect(await res.json()).toEqual(identityFor(email, 'school-b'));
      }
    }
  });
});

describe('auth', () => {
  const app = new Hono<Env>();
  app.onError(errorHandler(() => {}));
  app.use(auth({ token: 'the-token' }));
  app.get('/', (c) => c.text('in'));
  const status = async (authorization?: string) =>
    (await app.request('/', { headers: authorization === undefined ? {} : { Authorization: authorization } })).status;

  test('accepts the token after Bearer in any case and spacing hono/bearer-auth accepted', async () => {
    for (const header of ['Bearer the-token', 'bearer the-token', 'BEARER   the-token']) expect(await status(header)).toBe(200);
  });

  test('refuses a missing, malformed, longer, shorter or other token', async () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Bearerthe-token', 'Basic the-token', 'Bearer the-token2', 'Bearer the-toke', 'Bearer the token', 'Bearer other']) {
      expect(await status(header)).toBe(401);
    }
  });
});

describe('the batched request log', () => {
  test('writes every line, in order, also when the process exits right after', async () => {
    const script = `
      import { jsonLog } from ${JSON.stringify(join(import.meta.dir, '../src/log.ts'))};
      for (let i = 0; i < 3000; i += 1) jsonLog({ i });
      await Bun.sleep(1);
      for (let i = 3000; i < 6000; i += 1) jsonLog({ i });
      process.exit(0);
    `;
    const child = Bun.spawn(['bun', '-e', script], { stdout: 'pipe', stderr: 'inherit' });
    const lines = (await new Response(child.stdout).text()).trim().split('\n');
    expect(await child.exited).toBe(0);
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });
});
