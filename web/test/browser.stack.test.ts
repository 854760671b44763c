/**
 * The web app in a real Chromium against `next start` and a fake gateway, for what the real stack
 * cannot be made to do on cue: the shared password, the tutor's start steps, gateway failures, an
 * answer cut off midway, the real nanobot image's dialect. Sign in, streamed Markdown + math, tabs
 * that survive a reload, uploads, sign out. What a student does with a working tutor (photos,
 * calculator, failed and stopped answers, files, export, chat habits) runs against the real stack
 * in test/student.stack.test.ts.
 * Screenshots (the start steps) go to a temporary folder, or to docs/screenshots with UPDATE_SCREENSHOTS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { accessibilityProblems, exercisePng, launchChromium } from '../../test/support/chromium.ts';
import { MESSAGES } from '../lib/api/shared.ts';
import { LLM_FAILED, NANOBOT_ERROR_REPLY, startFakeGateway, type FakeGateway } from './fake-gateway.ts';
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
  browser = await launchChromium();
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

const user = () => gateway.users.get(EMAIL)!;
/** The student's questions as shown. */
const questions = () => page.locator('[data-role="user"]');
const lastAnswer = () => page.locator('[data-role="assistant"]').last();
const answered = () => page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 30_000 });

/** Waits for an answer just asked for (the fake streams for about a second): it starts, then finishes. */
async function streamedAnswer() {
  await page.locator('[data-role="assistant"][data-status="streaming"]').waitFor();
  await answered();
}

/** The focused element: a tab by its title, anything else by its accessible name or tag. */
const focused = () =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el?.getAttribute('role') === 'tab' ? `tab ${el.textContent}` : (el?.getAttribute('aria-label') ?? el?.tagName);
  });

async function send(message: string) {
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('the web app in a browser', () => {
  test('sends a visitor who is not signed in to the login page, which says local auth is on', async () => {
    await page.goto(`${web.url}/`);
    await page.waitForURL(/\/login$/);
    await expect(page.getByText('Local sign-in is on.').isVisible()).resolves.toBe(true);
    expect(await accessibilityProblems(page)).toEqual([]);
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
    expect(await questions().innerText()).toBe('Explain energy');
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
    expect(await questions().allInnerTexts()).toEqual(['What is momentum?']);
  }, 60_000);

  test('keyboard focus stays on the tabs while arrows and End choose, and goes back to the message box when an answer ends or is stopped', async () => {
    await page.getByRole('tab', { selected: true }).focus();
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('tab', { name: 'Explain energy', selected: true }).waitFor();
    expect(await focused()).toBe('tab Explain energy');
    await page.keyboard.press('End');
    await page.getByRole('tab', { name: 'What is momentum?', selected: true }).waitFor();
    expect(await focused()).toBe('tab What is momentum?');
    await send('And angular momentum?');
    await answered();
    expect(await focused()).toBe('Message');
    await send('And torque?');
    await page.getByRole('button', { name: 'Stop' }).press('Enter');
    await answered();
    expect(await focused()).toBe('Message');
  }, 60_000);

  test('uploads a file and lists it in the Files panel', async () => {
    await page.getByLabel('Upload files').setInputFiles({ name: 'lecture-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('F = ma') });
    const files = page.getByRole('region', { name: 'Files' });
    await files.getByRole('link', { name: 'lecture-notes.txt' }).waitFor();
    expect(gateway.users.get(EMAIL)?.files.get('files_uploaded/lecture-notes.txt')?.toString()).toBe('F = ma');
    await page.getByRole('tab', { name: 'Explain energy' }).click();
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

  test('an answer that fails midway keeps its question and what streamed, with Retry, also after a reload', async () => {
    gateway.chatFailures.push('midway');
    await send('Why is the sky blue?');
    // The agent's own text names the provider's error; the student gets the sentence for its code.
    await page.getByRole('alert').filter({ hasText: MESSAGES.modelFailed }).waitFor();
    expect(await lastAnswer().getAttribute('data-status')).toBe('error');
    expect(await lastAnswer().innerText()).toContain('Great question!');
    await page.reload();
    await lastAnswer().getByRole('button', { name: 'Retry' }).waitFor();
    expect(await lastAnswer().getAttribute('data-status')).toBe('error');
    expect(await lastAnswer().getByRole('alert').innerText()).toContain(MESSAGES.modelFailed);
    expect(await lastAnswer().innerText()).not.toContain(LLM_FAILED);
    await lastAnswer().getByRole('button', { name: 'Retry' }).click();
    await streamedAnswer();
    expect(await lastAnswer().getAttribute('data-status')).toBe('done');
    const stored = [...user().sessions.values()].flatMap((s) => s.messages).filter((m) => m.content === 'Why is the sky blue?');
    expect(stored).toHaveLength(1);
  }, 60_000);

  test('with many sessions the active tab stays in view and a list reaches every session', async () => {
    for (let i = 0; i < 6; i++) await page.getByRole('button', { name: 'New session' }).click();
    const menu = page.getByRole('combobox', { name: 'All sessions' });
    await menu.waitFor();
    const active = page.getByRole('tab', { selected: true });
    const bar = await page.getByRole('tablist').boundingBox();
    const tab = await active.boundingBox();
    expect(tab!.x + tab!.width).toBeLessThanOrEqual(bar!.x + bar!.width + 1);
    await menu.selectOption({ label: 'What is momentum?' });
    expect(await page.getByRole('tab', { selected: true }).innerText()).toBe('What is momentum?');
    // The empty tabs were never stored; closing them asks nothing.
    for (let i = 0; i < 6; i++) {
      await page.getByRole('tab', { name: 'New session' }).first().click();
      await page.keyboard.press('Delete');
    }
    expect(await menu.count()).toBe(0);
  }, 60_000);

  test('closing a session tab asks first, then deletes it through DELETE /sessions (which consolidates it)', async () => {
    const sessionsBefore = user().sessions.size;
    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await page.getByRole('tab', { name: 'What is momentum?' }).click();
    await page.getByRole('button', { name: 'Close session' }).click();
    await page.getByRole('tab', { name: 'What is momentum?' }).waitFor({ state: 'detached' });
    expect(question).toContain('keeps what it learned in its memory');
    expect(gateway.received.some((r) => r.method === 'DELETE' && r.path === '/sessions')).toBe(true);
    expect(user().sessions.size).toBe(sessionsBefore - 1);
    expect(user().consolidated.at(-1)).toContain('What is momentum?');
  }, 60_000);

  test('a pasted image is attached the same way; a HEIC photo is refused with the formats that work', async () => {
    const paste = (name: string, type: string, bytes: number[]) =>
      page.getByLabel('Message').evaluate(
        (textarea, file) => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(file.bytes)], file.name, { type: file.type }));
          textarea.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        },
        { name, type, bytes },
      );
    await paste('IMG_0001.heic', 'image/heic', [0, 0, 0, 24]);
    await page.getByRole('alert').filter({ hasText: 'Attach JPEG, PNG or WebP images' }).waitFor();
    await paste('pasted.png', 'image/png', [...(await exercisePng(page))]);
    await page.getByRole('list', { name: 'Attached images' }).getByText('pasted.png').waitFor();
    expect(user().files.has('files_uploaded/pasted.png')).toBe(true);
    expect(user().files.has('files_uploaded/IMG_0001.heic')).toBe(false);
    await page.getByRole('button', { name: 'Remove pasted.png' }).click();
    expect(await page.getByRole('list', { name: 'Attached images' }).count()).toBe(0);
  }, 60_000);

  test('with the real nanobot image: no broken links or controls, its error reply shown as an answer, old ids still shown', async () => {
    user().sessions.set('0123456789abcdef0123456789abcdef', {
      updated_at: new Date(0).toISOString(),
      messages: [{ id: '1', role: 'user', content: 'An old session', timestamp: new Date(0).toISOString() }],
    });
    gateway.dialect = 'nanobot';
    try {
      await page.reload();
      await page.getByRole('tab', { name: 'An old session' }).waitFor();
      const files = page.getByRole('region', { name: 'Files' });
      await files.getByText('chain-rule.md').waitFor();
      expect(await files.getByRole('link').count()).toBe(0);
      expect(await files.getByRole('button', { name: /^(Preview|Rename|Delete) / }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Rename session' }).count()).toBe(0);
      expect(await page.getByLabel('Attach images').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Regenerate' }).count()).toBe(0);
      gateway.chatFailures.push('before');
      await send('Will this fail?');
      await lastAnswer().getByText(NANOBOT_ERROR_REPLY).waitFor();
      expect(await lastAnswer().getAttribute('data-status')).toBe('error');
      await lastAnswer().getByRole('button', { name: 'Retry' }).click();
      await page.getByText(NANOBOT_ERROR_REPLY).waitFor({ state: 'detached' });
      await lastAnswer().getByText('Energy and mass').waitFor();
    } finally {
      gateway.dialect = 'reference';
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
