/**
 * The web app in a real Chromium against `next start` and a fake gateway: sign in locally, chat
 * with a streamed Markdown + math answer, a second session that survives a reload, upload, sign out.
 * Screenshots go to a temporary folder, or to docs/screenshots with UPDATE_SCREENSHOTS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startFakeGateway, type FakeGateway } from './fake-gateway.ts';
import { buildWeb, startWeb, WEB_DIR, type NextServer } from './next-server.ts';

const PASSWORD = 'correct horse battery staple';
const EMAIL = 'ada@example.edu';
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const SCREENSHOTS = UPDATE_SCREENSHOTS ? join(WEB_DIR, '..', 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'nbtest-web-shots-'));

let gateway: FakeGateway;
let web: NextServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  gateway = startFakeGateway({ pieceDelayMs: 150 });
  await buildWeb();
  web = await startWeb({
    GATEWAY_URL: gateway.url,
    GATEWAY_TOKEN: gateway.token,
    LOCAL_AUTH_MODE: 'shared',
    LOCAL_AUTH_PASSWORD: PASSWORD,
    SESSION_SECRET: 'a-test-session-secret-of-at-least-32-chars',
    USER_ASSERTION_SECRET: 'a-test-assertion-secret-of-32-chars-or-more',
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await gateway?.stop();
  if (!UPDATE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
}, 30_000);

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

async function send(message: string) {
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('the web app in a browser', () => {
  test('sends a visitor who is not signed in to the login page, which says local auth is on', async () => {
    await page.goto(`${web.url}/`);
    await page.waitForURL(/\/login$/);
    await expect(page.getByText('Local sign-in is on.').isVisible()).resolves.toBe(true);
    await shot('login');
  }, 60_000);

  test('refuses a wrong password with a message', async () => {
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That password is not right.' }).waitFor();
  }, 60_000);

  test('signs in with the shared password and shows the email in the header', async () => {
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/`);
    await page.getByRole('banner').getByText(EMAIL).waitFor();
    await page.getByRole('tab').first().waitFor();
    expect(await page.getByRole('tab').count()).toBe(1);
  }, 60_000);

  test('streams the answer in, with a Stop button meanwhile, and renders its math', async () => {
    await send('Explain energy');
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    const answer = page.locator('[data-role="assistant"]').last();
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 30_000 });
    expect(await answer.innerText()).toContain('Energy and mass are two sides of one coin.');
    expect(await answer.innerText()).toContain('E = mc^2');
    expect(await answer.locator('.katex').count()).toBeGreaterThanOrEqual(2);
    expect(await answer.locator('pre code.hljs').count()).toBe(1);
    expect(await page.locator('[data-role="user"]').innerText()).toBe('Explain energy');
    await shot('chat');
  }, 60_000);

  test('opens a second session, and after a reload finds both sessions with their messages', async () => {
    await page.getByRole('button', { name: 'New session' }).click();
    expect(await page.getByRole('tab').count()).toBe(2);
    expect(await page.locator('[data-role="user"]').count()).toBe(0);
    await send('What is momentum?');
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 30_000 });
    await page.reload();
    await page.getByRole('tab').nth(1).waitFor();
    const titles = await page.getByRole('tab').allInnerTexts();
    expect(titles).toEqual(['Explain energy', 'What is momentum?']);
    expect(await page.getByRole('tab', { selected: true }).innerText()).toBe('What is momentum?');
    expect(await page.locator('[data-role="user"]').allInnerTexts()).toEqual(['What is momentum?']);
  }, 60_000);

  test('uploads a file and lists it in the Files panel', async () => {
    await page.getByLabel('Upload files').setInputFiles({ name: 'lecture-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('F = ma') });
    const files = page.getByRole('region', { name: 'Files' });
    await files.getByRole('link', { name: 'lecture-notes.txt' }).waitFor();
    expect(gateway.users.get(EMAIL)?.files.get('files_uploaded/lecture-notes.txt')?.toString()).toBe('F = ma');
    await page.getByRole('tab', { name: 'Explain energy' }).click();
    await shot('files');
  }, 60_000);

  test('opening the app after the tutor was culled shows its real start steps, in order, until it runs', async () => {
    const steps = ['queued', 'creating', 'starting', 'waiting_for_health'];
    gateway.coldStart = {
      states: [{ state: 'stopped' }, { state: 'queued', position: 2 }, { state: 'queued', position: 1 }, ...steps.slice(1).map((state) => ({ state })), { state: 'running' }],
      stepMs: 700,
    };
    await page.reload();
    const seen: string[] = [];
    let sawPlace = false;
    const message = page.getByLabel('Message');
    while (!(await message.isVisible())) {
      const shown = await page.locator('[data-agent-state]').getAttribute('data-agent-state', { timeout: 50 }).catch(() => null);
      if (shown && seen.at(-1) !== shown) seen.push(shown);
      if (shown === 'queued' && !sawPlace && (await page.getByText('number 2 in line').isVisible())) {
        sawPlace = true;
        await shot('agent-progress');
      }
      await Bun.sleep(40);
    }
    expect(seen.filter((s) => steps.includes(s))).toEqual(steps);
    expect(sawPlace).toBe(true);
    expect(gateway.received.some((r) => r.method === 'POST' && r.path === '/agent/start')).toBe(true);
  }, 60_000);

  test('shows that the tutor is starting, then answers once it has started', async () => {
    gateway.failures.push({ status: 503, headers: { 'Retry-After': '2' }, path: '/chat' });
    await send('Are you awake?');
    await page.getByText('Starting your tutor…').first().waitFor();
    await shot('starting');
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 30_000 });
    expect(await page.locator('[data-role="assistant"]').last().innerText()).toContain('E = mc');
  }, 60_000);

  test('offers a retry when the tutor fails, and the retry gets the answer', async () => {
    gateway.failures.push({ status: 502, path: '/chat' });
    await send('One more thing');
    const retry = page.getByRole('button', { name: 'Retry' });
    await retry.waitFor();
    await retry.click();
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 30_000 });
    expect(await page.locator('[data-role="assistant"]').last().innerText()).toContain('Energy and mass');
  }, 60_000);

  test('on a phone-sized screen, files and memory open from the header', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const files = page.getByRole('region', { name: 'Files' });
    expect(await files.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Files & memory' }).click();
    await files.getByRole('link', { name: 'lecture-notes.txt' }).waitFor();
    await shot('mobile-files');
    await page.getByRole('button', { name: 'Files & memory' }).click();
    await shot('mobile-chat');
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 60_000);

  test('uploads three 4 MiB files at once, more than the proxy would buffer, and all arrive intact', async () => {
    const files = ['a', 'b', 'c'].map((name) => ({ name: `big-${name}.bin`, bytes: randomBytes(4 * 1024 * 1024) }));
    const form = new FormData();
    for (const { name, bytes } of files) form.append('files', new File([bytes], name, { type: 'application/octet-stream' }));
    // A page's own fetch sends its Origin; Playwright's request API does not, and the app refuses requests without one.
    const response = await page.request.post(`${web.url}/api/upload`, { multipart: form, headers: { Origin: web.url } });
    expect(response.status()).toBe(200);
    expect((await response.json()).saved_files).toEqual(files.map(({ name }) => `files_uploaded/${name}`));
    const stored = gateway.users.get(EMAIL)?.files;
    for (const { name, bytes } of files) {
      const received = stored?.get(`files_uploaded/${name}`);
      expect(received?.byteLength).toBe(bytes.byteLength);
      expect(Buffer.from(received ?? []).equals(bytes)).toBe(true);
    }
  }, 60_000);

  test('signs out and is sent back to the login page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    await page.goto(`${web.url}/`);
    await page.waitForURL(/\/login$/);
    const api = await page.request.get(`${web.url}/api/sessions`);
    expect(api.status()).toBe(401);
  }, 60_000);
});
