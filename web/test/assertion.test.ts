/** The web app's user assertion is signed once and sent again for half a minute, so the gateway verifies it once. */
import { expect, test } from 'bun:test';
import { jwtVerify } from 'jose';
import { REUSE_MS, userAssertion } from '../lib/auth/assertion.ts';

const secret = new TextEncoder().encode('a-user-assertion-secret-of-32-chars!');
const ada = { email: 'ada@example.edu', sessionId: 's-ada' };

test('the same user and session get the same token until REUSE_MS has passed, then a new one', async () => {
  const start = Date.UTC(2026, 0, 5, 9, 0, 0);
  const first = await userAssertion(ada, secret, start);
  expect(await userAssertion(ada, secret, start + REUSE_MS - 1)).toBe(first);
  const later = await userAssertion(ada, secret, start + REUSE_MS);
  expect(later).not.toBe(first);
  // Sent until REUSE_MS, it still has half its 60 s life: it is never sent expired.
  const { payload } = await jwtVerify(first!, secret, { currentDate: new Date(start + REUSE_MS), issuer: 'nanobot-web', audience: 'nanobot-gateway' });
  expect(payload).toMatchObject({ sub: 'ada@example.edu', sid: 's-ada', exp: start / 1000 + 60 });
});

test('another session, another user or another secret never gets that token', async () => {
  const now = Date.UTC(2026, 0, 5, 10, 0, 0);
  const token = await userAssertion(ada, secret, now);
  expect(await userAssertion({ ...ada, sessionId: 's-other' }, secret, now)).not.toBe(token);
  expect(await userAssertion({ email: 'bob@example.edu', sessionId: 's-ada' }, secret, now)).not.toBe(token);
  expect(await userAssertion(ada, new TextEncoder().encode('another-secret-of-at-least-32-chars!'), now)).not.toBe(token);
  expect(await userAssertion({ ...ada, accessToken: 'supabase-token' }, secret, now)).toBe('supabase-token');
});
