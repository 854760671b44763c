/**
 * Local accounts end to end in Chromium: the real gateway (in this process, with a fake runtime
 * and a fake agent, but its real accounts API and SQLite file), `bun run students` creating the
 * accounts, `next start`, and students following their invite links.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createUsers, openAccountStore } from '../../gateway/src/accounts/index.ts';
import { RouteTable } from '../../gateway/src/agents/route-table.ts';
import { createApp } from '../../gateway/src/app.ts';
import { serve } from '../../gateway/src/serve.ts';
import { loadSettings } from '../../gateway/src/settings.ts';
import { stubRuntime as runtime } from '../../gateway/test/helpers.ts';
import { launchChromium } from '../../test/support/chromium.ts';
import { eventually } from '../../test/support/eventually.ts';
import { buildWeb, startWeb, WEB_DIR, type NextServer } from './next-server.ts';
import { echoAgents, signIn } from './signed-in-browser.ts';

const GATEWAY_TOKEN = 'invite-test-gateway-token';
const ADMIN_TOKEN = 'invite-test-admin-token';
const ASSERTION_SECRET = 'invite-test-assertion-secret-32-chars!';
const ADA = 'ada@example.edu';
const BOB = 'bob@example.edu';
const PASSWORD = 'four unrelated words here';

const dataDir = mkdtempSync(join(tmpdir(), 'nbtest-invite-'));
let gateway: ReturnType<typeof serve>;
let gatewayUrl: string;
let web: NextServer;
let browser: Browser;
const links = new Map<string, string>();

async function students(...args: string[]): Promise<string> {
  const child = Bun.spawn(['bun', 'scripts/students.ts', ...args], {
    cwd: join(WEB_DIR, '..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GATEWAY_URL: gatewayUrl, ADMIN_TOKEN, PUBLIC_URL: web.url },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`students ${args.join(' ')} failed: ${stderr}`);
  return stdout;
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return { context, page: await context.newPage() };
}

beforeAll(async () => {
  const settings = loadSettings({ GATEWAY_TOKEN, AGENT_TOKEN_SECRET: 'agent-secret', DATA_DIR: dataDir, START_TIMEOUT_MS: '2000', USER_ASSERTION_SECRET: ASSERTION_SECRET, ADMIN_TOKEN });
  const users = createUsers({ settings: settings.users, store: openAccountStore(settings.users), log: () => {} });
  const app = createApp({ settings, runtime, users, routes: new RouteTable(), fetch: echoAgents, log: () => {} });
  gateway = serve(app, { port: 0, hostname: '127.0.0.1' });
  gatewayUrl = `http://127.0.0.1:${gateway.port}`;
  await buildWeb();
  web = await startWeb({ GATEWAY_URL: gatewayUrl, GATEWAY_TOKEN, SESSION_SECRET: 'an-invite-test-session-secret-of-32-chars', USER_ASSERTION_SECRET: ASSERTION_SECRET });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await gateway?.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('local accounts in a browser', () => {
  test('bun run students add prints one invite link per new student', async () => {
    const out = await students('add', ADA, BOB);
    for (const email of [ADA, BOB]) {
      const link = new RegExp(`^${email.replace('.', '\\.')}\\s+(\\S+/invite/\\S+)`, 'm').exec(out)?.[1];
      expect(link).toStartWith(`${web.url}/invite/`);
      links.set(email, link!);
    }
    expect(await students('list')).toContain(`${ADA}  invited, no password yet`);
  }, 60_000);

  test('a student follows the invite, chooses a password and lands signed in', async () => {
    const { page } = await newPage();
    await page.goto(links.get(ADA)!);
    await page.getByText(`Choose the password you will sign in with as ${ADA}`).waitFor();
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill('something else entirely');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not the same' }).waitFor();
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(`${web.url}/`);
    await page.getByRole('banner').getByText(ADA).waitFor();
    const memory = await (await page.request.get(`${web.url}/api/memory`)).json();
    expect(memory.memory).toStartWith('# Memory of ada_example_edu-');
  }, 60_000);

  test('the same invite link opened again is refused', async () => {
    const { page } = await newPage();
    await page.goto(links.get(ADA)!);
    await page.getByRole('alert').filter({ hasText: 'invalid, already used or expired' }).waitFor();
    expect(await page.getByLabel('New password').count()).toBe(0);
  }, 60_000);

  test('each student reaches only their own tutor', async () => {
    const { page } = await newPage();
    await page.goto(links.get(BOB)!);
    await page.getByLabel('New password').fill(`${PASSWORD} bob`);
    await page.getByLabel('Repeat the password').fill(`${PASSWORD} bob`);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(`${web.url}/`);
    const memory = await (await page.request.get(`${web.url}/api/memory`, { headers: { 'X-User-Email': ADA } })).json();
    expect(memory.memory).toStartWith('# Memory of bob_example_edu-');
  }, 60_000);

  test('a state-changing request from another site is refused', async () => {
    const { page } = await newPage();
    const response = await page.request.post(`${web.url}/api/auth/logout`, { headers: { Origin: 'https://evil.example' } });
    expect(response.status()).toBe(403);
    const invite = await page.request.post(`${web.url}/api/auth/invite`, { headers: { Origin: 'https://evil.example' }, data: { token: 'x'.repeat(43), password: PASSWORD } });
    expect(invite.status()).toBe(403);
  }, 60_000);

  test('signing out everywhere ends the other sessions; disabling ends all of them', async () => {
    const first = await newPage();
    const second = await newPage();
    for (const { page } of [first, second]) {
      await signIn(page, web.url, BOB, `${PASSWORD} bob`);
      await page.waitForURL(`${web.url}/`);
    }
    const signedOut = await first.page.request.post(`${web.url}/api/auth/logout`, { headers: { Origin: web.url }, data: { everywhere: true } });
    expect(signedOut.status()).toBe(200);
    expect((await second.page.request.get(`${web.url}/api/memory`)).status()).toBe(401);
    // The open app may notice the 401 itself and navigate to /login while goto is under way; either
    // navigation can abort the other (waitForURL then throws ERR_ABORTED), so where the page ends up counts.
    await second.page.goto(`${web.url}/`).catch(() => undefined);
    await eventually(() => expect(new URL(second.page.url()).pathname).toBe('/login'), 30_000);

    await signIn(second.page, web.url, BOB, `${PASSWORD} bob`);
    await second.page.waitForURL(`${web.url}/`);
    expect((await second.page.request.get(`${web.url}/api/memory`)).status()).toBe(200);
    expect(await students('disable', BOB)).toContain('disabled');
    expect((await second.page.request.get(`${web.url}/api/memory`)).status()).toBe(401);
  }, 90_000);

  // Last: it blocks this machine's address for a minute.
  test('wrong passwords are answered alike, then rate limited with a message', async () => {
    const { page } = await newPage();
    await signIn(page, web.url, ADA, 'not the password');
    await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
    for (let i = 0; i < 4; i++) {
      await page.getByLabel('Password').fill(`guess number ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Too many attempts' }).waitFor();
  }, 60_000);
});
