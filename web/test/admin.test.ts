/**
 * The admin page's server side (`/api/admin/*`) against a fake gateway on a real socket: who may
 * call it, which calls are passed on, and that ADMIN_TOKEN goes only to the gateway, never back.
 * Plus the table's sorting and filtering.
 */
import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { adminApi, gatewayPath } from '../lib/admin/api.ts';
import { adminSettings, isAdmin } from '../lib/admin/settings.ts';
import { filterRows, formatBytes, rowsOf, sortRows, type AdminAgent } from '../lib/admin/view.ts';

const TOKEN = 'the-admin-token-never-for-browsers';
const ID = 'ada_example_edu-0123456789';
const received: { method: string; path: string; auth: string | null }[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: { ok: true } };

const gateway = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(request) {
    const url = new URL(request.url);
    received.push({ method: request.method, path: url.pathname + url.search, auth: request.headers.get('authorization') });
    return Response.json(answer.body, { status: answer.status, headers: { 'X-From-Gateway': TOKEN, 'Set-Cookie': 'gw=1' } });
  },
});
afterAll(() => gateway.stop(true));
beforeEach(() => {
  received.length = 0;
  answer = { status: 200, body: { ok: true } };
});

const env = { ADMIN_EMAILS: ' Boss@School.example , second@school.example', ADMIN_TOKEN: TOKEN, GATEWAY_URL: `http://127.0.0.1:${gateway.port}/` };
const as = (email: string | null, overrides: Record<string, string> = {}) =>
  adminApi({ resolveUser: async () => (email ? { email } : null), settings: () => adminSettings({ ...env, ...overrides }) });
const call = (email: string | null, path: string, method = 'GET', overrides: Record<string, string> = {}) =>
  as(email, overrides)(new Request(`http://web.test/api/admin/${path}`, { method }));

const PAGE_CALLS: [string, string, string][] = [
  ['GET', 'agents', '/admin/agents'],
  ['GET', 'health', '/admin/health'],
  ['GET', 'llm', '/admin/llm'],
  ['GET', 'usage', '/admin/usage'],
  ['GET', `agents/${ID}`, `/admin/agents/${ID}`],
  ['POST', `agents/${ID}/stop`, `/admin/agents/${ID}/stop`],
  ['POST', `agents/${ID}/restart`, `/admin/agents/${ID}/restart`],
  ['DELETE', `agents/${ID}`, `/admin/agents/${ID}`],
  ['GET', `users/${ID}/files`, `/admin/users/${ID}/files`],
  ['DELETE', `users/${ID}?confirm=${ID}`, `/admin/users/${ID}?confirm=${ID}`],
];

describe('/api/admin/*', () => {
  test('ADMIN_EMAILS is a trimmed, lower-cased, comma-separated list', () => {
    const settings = adminSettings(env);
    expect([...settings.emails]).toEqual(['boss@school.example', 'second@school.example']);
    expect(isAdmin({ email: 'boss@school.example' }, settings)).toBe(true);
    expect(isAdmin({ email: 'ada@example.edu' }, settings)).toBe(false);
    expect(isAdmin(null, settings)).toBe(false);
    expect(adminSettings({}).emails.size).toBe(0);
    // The shared password lets anyone sign in under any address: no admins then.
    expect(adminSettings({ ...env, LOCAL_AUTH_MODE: 'shared', LOCAL_AUTH_PASSWORD: 'x', SESSION_SECRET: 's'.repeat(32), USER_ASSERTION_SECRET: 'a'.repeat(32) }).emails.size).toBe(0);
  });

  test('passes each call the page makes to the gateway with the admin token, and the answer back without the gateway\'s headers', async () => {
    for (const [method, path, expected] of PAGE_CALLS) {
      received.length = 0;
      const response = await call('boss@school.example', path, method);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(received).toEqual([{ method, path: expected, auth: `Bearer ${TOKEN}` }]);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-from-gateway')).toBeNull();
      expect(response.headers.get('set-cookie')).toBeNull();
    }
  });

  test('passes the gateway\'s own errors through (a missing confirmation stays a 400)', async () => {
    answer = { status: 400, body: { error: 'Deleting a student needs ?confirm=<the same user id>.', code: 'confirmation_required' } };
    const response = await call('boss@school.example', `users/${ID}?confirm=someone`, 'DELETE');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe('confirmation_required');
    expect(received[0]?.path).toBe(`/admin/users/${ID}?confirm=someone`);
  });

  test('refuses the signed-out (401) and signed-in students who are not admins (404, as if nothing were here), asking the gateway nothing', async () => {
    for (const [method, path] of PAGE_CALLS) {
      expect((await call(null, path, method)).status).toBe(401);
      const refused = await call('ada@example.edu', path, method);
      expect(refused.status).toBe(404);
      expect(await refused.json()).toEqual({ error: 'Not found.', code: 'not_found' });
    }
    expect(received).toEqual([]);
  });

  test('passes on nothing else: other paths, methods and user ids are a 404', async () => {
    const others: [string, string][] = [
      ['GET', 'students'],
      ['POST', 'agents'],
      ['DELETE', 'agents'],
      ['GET', 'metrics'],
      ['POST', `agents/${ID}/remove`],
      ['GET', `agents/${ID}/stop`],
      ['GET', 'agents/..%2F..%2Fmetrics'],
      ['GET', 'agents/ADA-0123456789'],
      ['GET', `users/${ID}`],
      ['POST', `users/${ID}/files`],
      ['GET', `agents/${ID}/stop/x`],
      ['GET', ''],
    ];
    for (const [method, path] of others) expect((await call('boss@school.example', path, method)).status).toBe(404);
    expect(received).toEqual([]);
    expect(gatewayPath('GET', '/api/admin/agents', new URLSearchParams())).toBe('/admin/agents');
  });

  test('a wrong or missing ADMIN_TOKEN and an unreachable gateway are clear JSON errors that never show the token', async () => {
    answer = { status: 401, body: { error: `token ${TOKEN} refused`, code: 'unauthorized' } };
    const refused = await call('boss@school.example', 'agents');
    expect(refused.status).toBe(502);
    const refusedText = await refused.text();
    expect(JSON.parse(refusedText).code).toBe('misconfigured');
    expect(refusedText).not.toContain(TOKEN);

    const unset = await call('boss@school.example', 'agents', 'GET', { ADMIN_TOKEN: '' });
    expect(unset.status).toBe(503);
    expect(((await unset.json()) as { code: string }).code).toBe('admin_not_configured');

    const down = await call('boss@school.example', 'agents', 'GET', { GATEWAY_URL: 'http://127.0.0.1:9' });
    expect(down.status).toBe(503);
    expect(((await down.json()) as { code: string }).code).toBe('unavailable');
  });
});

describe('the tutors table', () => {
  const agent = (email: string, extra: Partial<AdminAgent>): AdminAgent => ({
    userId: `${email.split('@')[0]}-0123456789`, email, state: 'running', status: 'running', image: 'nanobot-tutor', outdated: false,
    createdAt: '2026-11-25T10:00:00Z', startedAt: null, finishedAt: null, exitCode: null, oomKilled: false, restarts: 0,
    lastActivity: null, requestsInFlight: 0, memoryBytes: null, memoryLimitBytes: null, cpuPercent: null, lastFailure: null, ...extra,
  });
  const agents = [
    agent('cy@x.example', { memoryBytes: 300, state: 'stopped', lastActivity: '2026-11-25T10:00:00Z' }),
    agent('ada@x.example', { memoryBytes: 100, lastActivity: '2026-11-25T12:00:00Z', lastFailure: { reason: 'agent_exited', message: 'exit 3', at: '2026-11-25T11:00:00Z' } }),
    agent('bo@x.example', { memoryBytes: null }),
  ];
  const usage = { day: '2026-11-25', today: { requests: 1, promptTokens: 5, completionTokens: 7 }, total: { requests: 1, promptTokens: 5, completionTokens: 7 }, students: [{ userId: 'ada-0123456789', today: { requests: 1, promptTokens: 5, completionTokens: 7 }, total: { requests: 1, promptTokens: 5, completionTokens: 7 } }] };
  const rows = rowsOf(agents, usage);
  const emails = (list: { email: string }[]) => list.map((r) => r.email);

  test('sorts by any column both ways, with empty values last', () => {
    expect(emails(sortRows(rows, { key: 'email', direction: 'ascending' }))).toEqual(['ada@x.example', 'bo@x.example', 'cy@x.example']);
    expect(emails(sortRows(rows, { key: 'memoryBytes', direction: 'ascending' }))).toEqual(['ada@x.example', 'cy@x.example', 'bo@x.example']);
    expect(emails(sortRows(rows, { key: 'memoryBytes', direction: 'descending' }))).toEqual(['cy@x.example', 'ada@x.example', 'bo@x.example']);
    expect(emails(sortRows(rows, { key: 'lastActivity', direction: 'descending' }))).toEqual(['ada@x.example', 'cy@x.example', 'bo@x.example']);
    expect(emails(sortRows(rows, { key: 'tokensToday', direction: 'descending' }))).toEqual(['ada@x.example', 'bo@x.example', 'cy@x.example']);
    expect(emails(sortRows(rows, { key: 'state', direction: 'descending' }))).toEqual(['cy@x.example', 'ada@x.example', 'bo@x.example']);
  });

  test('filters by text (email, id, state, failure) and by state', () => {
    expect(emails(filterRows(rows, 'ADA', ''))).toEqual(['ada@x.example']);
    expect(emails(filterRows(rows, 'exit 3', ''))).toEqual(['ada@x.example']);
    expect(emails(filterRows(rows, 'bo-0123', ''))).toEqual(['bo@x.example']);
    expect(emails(filterRows(rows, '', 'stopped'))).toEqual(['cy@x.example']);
    expect(emails(filterRows(rows, 'ada', 'stopped'))).toEqual([]);
    expect(rows.find((r) => r.email === 'ada@x.example')?.tokensToday).toBe(12);
    expect(rowsOf(agents, undefined)[0]?.tokensToday).toBeNull();
  });

  test('formats bytes', () => {
    expect([formatBytes(null), formatBytes(512), formatBytes(1536), formatBytes(52_428_800)]).toEqual(['—', '512 B', '1.5 KiB', '50 MiB']);
  });
});
