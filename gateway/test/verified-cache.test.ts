/**
 * Verified assertions are looked up by token instead of verified again on every request (issue 15),
 * without giving up a guarantee: expired and too old tokens are refused, ended sessions at once.
 */
import { describe, expect, test } from 'bun:test';
import { SignJWT } from 'jose';
import { assertionVerifier } from '../src/accounts/identity.ts';
import { VerifiedCache } from '../src/accounts/verified-cache.ts';
import { userSettings } from './helpers.ts';

const SECRET = 'a-user-assertion-secret-of-32-chars!';

describe('VerifiedCache', () => {
  test('answers a token until its time, then forgets it', () => {
    const clock = { now: 1_000 };
    const cache = new VerifiedCache<string>(10, () => clock.now);
    cache.set('t', 'ada', 2_000);
    expect(cache.get('t')).toBe('ada');
    clock.now = 1_999;
    expect(cache.get('t')).toBe('ada');
    clock.now = 2_000;
    expect(cache.get('t')).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set('late', 'bob', 2_000);
    expect(cache.get('late')).toBeUndefined();
  });

  test('stays within its size, dropping the least recently used token', () => {
    const cache = new VerifiedCache<number>(3, () => 0);
    for (const n of [1, 2, 3]) cache.set(`t${n}`, n, 10);
    expect(cache.get('t1')).toBe(1);
    cache.set('t4', 4, 10);
    expect(cache.size).toBe(3);
    expect(cache.get('t2')).toBeUndefined();
    expect([cache.get('t1'), cache.get('t3'), cache.get('t4')]).toEqual([1, 3, 4]);
  });
});

describe('the assertion verifier with its cache', () => {
  const start = Date.UTC(2026, 0, 5, 9, 0, 0);
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const sign = (claims: { sid?: string; iat: number; exp: number }) =>
    new SignJWT(claims.sid ? { sid: claims.sid } : {})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada@example.edu')
      .setIssuer('nanobot-web')
      .setAudience('nanobot-gateway')
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .sign(new TextEncoder().encode(SECRET));

  function verifier() {
    const clock = { now: start };
    const live = new Set(['s1']);
    const verify = assertionVerifier({
      settings: userSettings({ USER_ASSERTION_SECRET: SECRET }),
      store: { sessionActive: (sid, email) => live.has(sid) && email === 'ada@example.edu' },
      now: () => clock.now,
    });
    const outcome = (token: string) => verify(token).then((email) => email, (err: { code: string }) => err.code);
    return { clock, live, outcome };
  }

  test('a token is accepted again while valid and refused once it has expired, although it was cached', async () => {
    const { clock, outcome } = verifier();
    const token = await sign({ sid: 's1', iat: seconds(start), exp: seconds(start) + 60 });
    expect(await outcome(token)).toBe('ada@example.edu');
    clock.now = start + 59_000;
    expect(await outcome(token)).toBe('ada@example.edu');
    clock.now = start + 60_000;
    expect(await outcome(token)).toBe('invalid_assertion');
  });

  test('a token with a far expiry is refused once it is older than 90 s, although it was cached', async () => {
    const { clock, outcome } = verifier();
    const token = await sign({ sid: 's1', iat: seconds(start), exp: seconds(start) + 3600 });
    expect(await outcome(token)).toBe('ada@example.edu');
    clock.now = start + 89_000;
    expect(await outcome(token)).toBe('ada@example.edu');
    clock.now = start + 91_000;
    expect(await outcome(token)).toBe('invalid_assertion');
  });

  test('an ended session refuses a token that was verified and cached a moment before', async () => {
    const { live, outcome } = verifier();
    const token = await sign({ sid: 's1', iat: seconds(start), exp: seconds(start) + 60 });
    expect(await outcome(token)).toBe('ada@example.edu');
    live.delete('s1');
    expect(await outcome(token)).toBe('session_ended');
  });

  test('a token without a session is refused every time, cached or not, outside the shared mode', async () => {
    const { outcome } = verifier();
    const token = await sign({ iat: seconds(start), exp: seconds(start) + 60 });
    expect(await outcome(token)).toBe('invalid_assertion');
    expect(await outcome(token)).toBe('invalid_assertion');
  });

  test('a forged token is refused even when a valid one of the same claims was cached', async () => {
    const { outcome } = verifier();
    const token = await sign({ sid: 's1', iat: seconds(start), exp: seconds(start) + 60 });
    expect(await outcome(token)).toBe('ada@example.edu');
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    expect(await outcome(forged)).toBe('invalid_assertion');
  });
});
