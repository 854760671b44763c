/**
 * Issue 11, item 6: the accounts' log lines name a student by the user id only. The whole address
 * (its local part beyond the user id's readable slug, and the `@`) never reaches the log.
 */
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUsers } from '../src/accounts/index.ts';
import { AccountStore } from '../src/accounts/store.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { identityFor } from '../src/identity.ts';
import { openStateDb } from '../src/state/db.ts';
import { stubRuntime as runtime, testSettings, TOKEN, userSettings } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'nbtest-accounts-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('every accounts line names the user id, never the email address', async () => {
  const lines: Record<string, unknown>[] = [];
  const settings = userSettings({ USER_ASSERTION_SECRET: 'a-user-assertion-secret-of-32-chars!', ADMIN_TOKEN: 'an-admin-token-for-tests' });
  const store = new AccountStore({ db: openStateDb(dir), inviteTtlMs: 60_000, argon2: { memoryCost: 1024, timeCost: 1 } });
  const users = createUsers({ settings, store, log: (line) => lines.push(line) });
  const app = createApp({ settings: testSettings({ ADMIN_TOKEN: 'an-admin-token-for-tests' }), runtime, users, routes: new RouteTable(), log: () => {} });
  const post = (path: string, body: unknown, token = TOKEN) =>
    app.request(path, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const admin = (path: string, body: unknown) => post(path, body, 'an-admin-token-for-tests');

  const email = 'Grace.Hopper+maths@School.example';
  const added = (await (await admin('/admin/students', { emails: [email] })).json()) as { students: { token: string }[] };
  const accepted = (await (await post('/auth/invites/accept', { token: added.students[0]!.token, password: 'a long enough password' })).json()) as { sessionId: string };
  await post('/auth/sign-in', { email, password: 'wrong password' });
  const signedIn = (await (await post('/auth/sign-in', { email, password: 'a long enough password' })).json()) as { sessionId: string };
  await post('/auth/sign-out', { sessionId: signedIn.sessionId });
  await post('/auth/sign-out', { sessionId: accepted.sessionId, everywhere: true });
  await admin('/admin/students/invite', { email });
  await admin('/admin/students/disable', { email });
  await admin('/admin/students/enable', { email });

  const userId = identityFor(email.toLowerCase()).id;
  const messages = lines.map((l) => l.msg);
  for (const msg of ['invite accepted', 'sign-in failed', 'signed in', 'signed out', 'signed out everywhere', 'invite issued', 'account disabled', 'account enabled']) {
    expect(messages).toContain(msg);
  }
  for (const line of lines.filter((l) => l.msg !== 'students added')) expect(line.userId).toBe(userId);
  const text = JSON.stringify(lines);
  expect(text).not.toContain('@');
  expect(text.toLowerCase()).not.toContain('grace.hopper');
});
