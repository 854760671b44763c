/**
 * Supabase sign-in end to end in Chromium: the real `@supabase/ssr` client in `next start`
 * against a fake of Supabase's auth server (test/fake-supabase.ts), and the real gateway in this
 * process verifying the students' access tokens against the fake's JWKS. Sign-up with a
 * confirmation link, password, magic link, Google, and a forgotten password.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createUsers } from '../../gateway/src/accounts/index.ts';
import { RouteTable } from '../../gateway/src/agents/route-table.ts';
import { createApp } from '../../gateway/src/app.ts';
import { identityFor } from '../../gateway/src/identity.ts';
import { serve } from '../../gateway/src/serve.ts';
import { loadSettings } from '../../gateway/src/settings.ts';
import { stubRuntime } from '../../gateway/test/helpers.ts';
import { launchChromium } from '../../test/support/chromium.ts';
import { startFakeSupabase, type FakeSupabase, type Mail } from './fake-supabase.ts';
import { buildWeb, freePort, startWeb, type NextServer } from './next-server.ts';
import { echoAgents, signIn } from './signed-in-browser.ts';

const GATEWAY_TOKEN = 'supabase-test-gateway-token';
const ADA = 'ada.supabase@example.edu';
const FIRST = 'a first password of ada';
const SECOND = 'a second password of ada';

const dataDir = mkdtempSync(join(tmpdir(), 'nbtest-supabase-'));
let supabase: FakeSupabase;
let gateway: ReturnType<typeof serve>;
let web: NextServer;
let browser: Browser;

async function newPage(): Promise<Page> {
  return (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
}

/** The link of the newest mail of that kind to that address. */
function mailed(to: string, kind: Mail['kind']): string {
  const mail = supabase.outbox.filter((m) => m.to === to && m.kind === kind).at(-1);
  if (!mail) throw new Error(`no ${kind} mail to ${to}`);
  return mail.link;
}

async function expectSignedInAs(page: Page, email: string) {
  await page.waitForURL(`${web.url}/`);
  await page.getByRole('banner').getByText(email).waitFor();
  const memory = await (await page.request.get(`${web.url}/api/memory`)).json();
  expect(memory.memory).toBe(`# Memory of ${identityFor(email).id}`);
}

beforeAll(async () => {
  supabase = await startFakeSupabase();
  const settings = loadSettings({ GATEWAY_TOKEN, AGENT_TOKEN_SECRET: 'agent-secret', DATA_DIR: dataDir, START_TIMEOUT_MS: '2000', SUPABASE_URL: supabase.url });
  const users = createUsers({ settings: settings.users, log: () => {} });
  gateway = serve(createApp({ settings, runtime: stubRuntime, users, routes: new RouteTable(), fetch: echoAgents, log: () => {} }), { port: 0, hostname: '127.0.0.1' });
  await buildWeb();
  // Links and provider redirects lead to PUBLIC_URL; without it, to the address Next thinks it has (localhost).
  const port = await freePort();
  web = await startWeb({ GATEWAY_URL: `http://127.0.0.1:${gateway.port}`, GATEWAY_TOKEN, SUPABASE_URL: supabase.url, SUPABASE_ANON_KEY: 'fake-anon-key', PUBLIC_URL: `http://127.0.0.1:${port}` }, port);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await gateway?.stop(true);
  await supabase?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('Supabase sign-in in a browser', () => {
  test('signs up, follows the confirmation link and reaches the own tutor through the gateway', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/login`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(`${web.url}/signup`);
    await page.getByLabel('Email').fill(ADA);
    await page.getByLabel('New password').fill(FIRST);
    await page.getByLabel('Repeat the password').fill(FIRST);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('status').filter({ hasText: 'confirmation link' }).waitFor();
    await page.goto(mailed(ADA, 'confirm'));
    await expectSignedInAs(page, ADA);
  }, 60_000);

  test('signs out, then in with the password', async () => {
    const page = await newPage();
    await signIn(page, web.url, ADA, 'not the password at all');
    await page.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
    await signIn(page, web.url, ADA, FIRST);
    await expectSignedInAs(page, ADA);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    expect((await page.request.get(`${web.url}/api/memory`)).status()).toBe(401);
  }, 60_000);

  test('signs in with a magic link', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/login`);
    await page.getByLabel('Email').fill(ADA);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('status').filter({ hasText: 'Check your inbox' }).waitFor();
    await page.goto(mailed(ADA, 'magiclink'));
    await expectSignedInAs(page, ADA);
  }, 60_000);

  test('resets a forgotten password through the mailed link', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(ADA);
    await page.getByRole('button', { name: 'Email me a reset link' }).click();
    await page.getByRole('status').filter({ hasText: 'reset link is on its way' }).waitFor();
    await page.goto(mailed(ADA, 'recovery'));
    await page.waitForURL(`${web.url}/reset-password`);
    await page.getByLabel('New password').fill(SECOND);
    await page.getByLabel('Repeat the password').fill(SECOND);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await expectSignedInAs(page, ADA);
    const other = await newPage();
    await signIn(other, web.url, ADA, FIRST);
    await other.getByRole('alert').filter({ hasText: 'do not match an account' }).waitFor();
    await signIn(other, web.url, ADA, SECOND);
    await expectSignedInAs(other, ADA);
  }, 60_000);

  test('signs in with Google', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/login`);
    await page.getByRole('link', { name: 'Continue with Google' }).click();
    await expectSignedInAs(page, supabase.googleEmail);
  }, 60_000);

  test('the reset-password page is only for a signed-in student', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/reset-password`);
    await page.waitForURL(/\/login$/);
  }, 60_000);
});
