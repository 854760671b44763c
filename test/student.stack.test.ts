/**
 * What a student does with the tutor, in a real Chromium against the real stack (`bun run setup`
 * on a copy of this repository: web app, gateway and LLM relay, reference agent containers) and
 * the fake LLM of agent/test/fake-llm.ts, run in this process so the test can script its answers
 * and read what it received (it listens on the host's address on the stack's Docker network, where
 * the gateway's LLM relay calls it as the provider `custom`): photos as image input, the calculator, failed and stopped answers,
 * the files panel and export, and the chat habits (copy, edit, regenerate, rename, many sessions,
 * dark theme, 200 % zoom, the accessibility audit).
 *
 * Screenshots go to a temporary folder, or to docs/screenshots with UPDATE_SCREENSHOTS=1.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { DEFAULT_ANSWER_INTRO, imagesOf, startFakeLlm, textOf, type FakeLlm, type FakeReply, type FakeRequest } from '../agent/test/fake-llm.ts';
import { REPO_ROOT } from '../scripts/lib/images.ts';
import { capture, run } from '../scripts/lib/run.ts';
import { createStack, type Stack } from './stack.ts';
import { accessibilityProblems, exercisePng, launchChromium, ONE_PAGE_PDF } from './support/chromium.ts';
import { eventually } from './support/eventually.ts';
import { acceptInvite, addStudents } from './support/students.ts';

const MINUTE = 60_000;
const EMAIL = 'grace@example.edu';
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const SCREENSHOTS = UPDATE_SCREENSHOTS ? join(REPO_ROOT, 'docs', 'screenshots') : mkdtempSync(join(tmpdir(), 'nbtest-student-shots-'));
/**
 * A model that takes no images, in the web app's words while the answer fails ("cannot look at
 * images") and in the agent's, stored with the turn, after a reload ("cannot read images").
 */
const NO_VISION = /model cannot (look at|read) images/;

let stack: Stack;
let llm: FakeLlm;
let browser: Browser;
let page: Page;
/** Scripted answers, each used once, for the question that is exactly the key. */
const scripted = new Map<string, FakeReply>();

const lastQuestionOf = (request: FakeRequest) => textOf(request.messages.findLast((m) => m.role === 'user')?.content);

/** The fake LLM's answer: a scripted one for this question (not for memory consolidation), else its default. */
function respond(request: FakeRequest): FakeReply | undefined {
  if (request.tools?.some((tool) => tool.function.name === 'save_memory')) return undefined;
  // A tool result is the second call of the same answer: the default quotes it.
  if (request.messages.at(-1)?.role === 'tool') return undefined;
  const question = lastQuestionOf(request);
  const reply = scripted.get(question);
  scripted.delete(question);
  return reply;
}

/** The requests the fake LLM received for this question. */
const requestsFor = (question: string) => llm.requests.filter((r) => lastQuestionOf(r) === question);

/** The gateway address of a Docker network: where its containers reach this machine. */
async function hostAddressOn(network: string): Promise<string> {
  await run(['docker', 'network', 'create', network]);
  const inspected = await capture(['docker', 'network', 'inspect', network, '--format', '{{(index .IPAM.Config 0).Gateway}}']);
  const address = inspected.stdout.trim();
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`no gateway address on ${network}: ${inspected.stdout}${inspected.stderr}`);
  return address;
}

beforeAll(async () => {
  const network = `nbstudent-${Date.now().toString(36)}-net`;
  const address = await hostAddressOn(network);
  // Bound to the network's own address only: the stack's gateway reaches it, nothing else does.
  llm = startFakeLlm({ hostname: address, respond });
  stack = await createStack(
    {
      providers: { custom: { apiKey: 'test-key', apiBase: `http://${address}:${llm.port}/v1` } },
      agents: { defaults: { model: 'fake-tutor', maxTokens: 512, temperature: 0.2, maxToolIterations: 4 } },
    },
    { NETWORK_NAME: network },
  );
  await run(['bun', 'scripts/setup.ts'], { cwd: stack.dir });
  browser = await launchChromium();
  // Reduced motion: no colour transitions, so the audit and the screenshots see the finished theme.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: 'reduce' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.webUrl });
  page = await context.newPage();
  await page.goto(`${stack.webUrl}/login`);
  await page.getByLabel('Email').waitFor();
  await shot('login');
  const loginProblems = await accessibilityProblems(page);
  if (loginProblems.length > 0) throw new Error(`the login page has accessibility problems: ${loginProblems.join('; ')}`);
  const invites = await addStudents(stack, [EMAIL]);
  await acceptInvite(page, stack, invites.get(EMAIL)!, 'a password of her own choosing');
  await page.getByLabel('Message').waitFor({ timeout: 3 * MINUTE });
}, 30 * MINUTE);

afterAll(async () => {
  await browser?.close();
  await stack?.destroy();
  await llm?.stop();
  if (!UPDATE_SCREENSHOTS) rmSync(SCREENSHOTS, { recursive: true, force: true });
}, 5 * MINUTE);

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
const lastAnswer = () => page.locator('[data-role="assistant"]').last();
const questions = () => page.locator('[data-role="user"]');
const files = () => page.getByRole('region', { name: 'Files' });

/** Sends a question and waits until its answer has finished (the Stop button gone again). */
async function ask(message: string): Promise<void> {
  const before = await page.locator('[data-role="assistant"]').count();
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('[data-role="assistant"]').nth(before).waitFor({ timeout: 2 * MINUTE });
  await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
}

async function newSession(): Promise<void> {
  const tabs = await page.getByRole('tab').count();
  await page.getByRole('button', { name: 'New session' }).click();
  await eventually(async () => expect(await page.getByRole('tab').count()).toBe(tabs + 1), 10_000, 50);
}

/** The messages the agent keeps in the active session, as `/api/sessions` returns them. */
type StoredMessage = { role: string; content: string; status?: string; error?: string; code?: string; images?: string[] };
async function storedMessages(question: string): Promise<StoredMessage[]> {
  const { sessions } = (await (await page.request.get(`${stack.webUrl}/api/sessions`)).json()) as { sessions: { messages: StoredMessage[] }[] };
  return sessions.find((s) => s.messages.some((m) => m.role === 'user' && m.content === question))?.messages ?? [];
}

/** Drops files onto an element as a drag from the desktop would, or pastes them into it. */
async function dataTransfer(target: string, kind: 'drop' | 'paste', file: { name: string; type: string; bytes: Buffer }) {
  await page.locator(target).evaluate(
    (element, { kind, name, type, bytes }) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], name, { type }));
      const init = { bubbles: true, cancelable: true };
      element.dispatchEvent(kind === 'drop' ? new DragEvent('drop', { ...init, dataTransfer: data }) : new ClipboardEvent('paste', { ...init, clipboardData: data }));
    },
    { kind, name: file.name, type: file.type, bytes: [...file.bytes] },
  );
}

describe('a student and the tutor, on the real stack', () => {
  test('attaches photos from the file picker, by drag-and-drop and by paste; the model receives them as image input, and a reload still shows them', async () => {
    const homework = await exercisePng(page);
    const diagram = await exercisePng(page, 'F = m · a');
    const graph = await exercisePng(page, 'y = 2x + 1');
    await page.getByLabel('Attach images').setInputFiles({ name: 'homework.png', mimeType: 'image/png', buffer: homework });
    await dataTransfer('form.composer', 'drop', { name: 'diagram.png', type: 'image/png', bytes: diagram });
    await dataTransfer('textarea[aria-label="Message"]', 'paste', { name: 'graph.png', type: 'image/png', bytes: graph });
    const attached = page.getByRole('list', { name: 'Attached images' });
    for (const name of ['homework.png', 'diagram.png', 'graph.png']) await attached.getByText(name).waitFor();

    const question = 'Is my working right?';
    await ask(question);
    expect(await lastAnswer().innerText()).toContain('I can see the 3 images you sent.');
    const sent = imagesOf(requestsFor(question).at(-1)?.messages.findLast((m) => m.role === 'user')?.content);
    expect(sent).toEqual([homework, diagram, graph].map((png) => `data:image/png;base64,${png.toString('base64')}`));

    await page.reload();
    for (const name of ['homework.png', 'diagram.png', 'graph.png']) await page.getByRole('img', { name: `Attached image ${name}` }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.thumb img')].filter((img) => img.naturalWidth === 240).length === 3);
    // The photos load after the view has scrolled to the latest message; their space is kept, so it stays there.
    expect(await page.locator('.messages').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(40);
    expect((await storedMessages(question)).find((m) => m.role === 'user')?.images).toEqual(['files_uploaded/homework.png', 'files_uploaded/diagram.png', 'files_uploaded/graph.png']);
    await shot('image-in-chat');
    expect(await accessibilityProblems(page)).toEqual([]);
  }, 5 * MINUTE);

  test('a model without vision gives a clear note, kept with the question', async () => {
    const question = 'And this one?';
    scripted.set(question, { error: { status: 400, message: 'This model does not support image input.', code: 'invalid_request_error' } });
    await page.getByLabel('Attach images').setInputFiles({ name: 'second-try.png', mimeType: 'image/png', buffer: await exercisePng(page, '3x = 12') });
    await page.getByRole('list', { name: 'Attached images' }).getByText('second-try.png').waitFor();
    await ask(question);
    await lastAnswer().getByRole('alert').filter({ hasText: NO_VISION }).waitFor();
    expect(await lastAnswer().getAttribute('data-status')).toBe('error');
    expect((await storedMessages(question)).at(-1)).toMatchObject({ role: 'assistant', status: 'error', code: 'no_vision', error: expect.stringMatching(NO_VISION) });
  }, 2 * MINUTE);

  test('a question for the calculator: the model calls it, and the answer shows the exact result', async () => {
    await newSession();
    const question = 'What is the sum? calculate: 2/3 + 1/4';
    await ask(question);
    expect(await lastAnswer().innerText()).toContain('2/3 + 1/4 = 0.91666666666667');
    const [call, followUp] = requestsFor(question);
    expect(call?.tools?.map((t) => t.function.name)).toContain('calculator');
    // The result the model read came from the agent's calculator (mathjs), not from the fake.
    expect(followUp?.messages.at(-1)).toMatchObject({ role: 'tool', content: '0.91666666666667' });
    await shot('chat');
  }, 2 * MINUTE);

  test('a failed answer stays in the session with its error and a Retry, also after a reload; a session of only failed turns is kept', async () => {
    await newSession();
    const question = 'Can you check my integral?';
    scripted.set(question, { error: { status: 500, message: 'The model is overloaded.', code: 'overloaded' } });
    await ask(question);
    await lastAnswer().getByRole('alert').filter({ hasText: 'Your tutor’s AI model did not answer.' }).waitFor();
    await shot('failed-turn');
    await page.reload();
    await page.getByRole('tab', { name: question, selected: true }).waitFor();
    // After a reload the same student sentence, from the code stored with the turn; the provider's own text is never shown.
    await lastAnswer().getByRole('alert').filter({ hasText: 'Your tutor’s AI model did not answer.' }).waitFor();
    expect(await lastAnswer().innerText()).not.toContain('The model is overloaded.');
    expect(await lastAnswer().getAttribute('data-status')).toBe('error');
    await lastAnswer().getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
    await lastAnswer().getByText(DEFAULT_ANSWER_INTRO).waitFor();
    expect(await lastAnswer().getAttribute('data-status')).toBe('done');
    const stored = await storedMessages(question);
    expect(stored.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([question]);
    expect(stored.at(-1)?.status ?? 'done').toBe('done');
  }, 3 * MINUTE);

  test('Stop keeps what was streamed, marked stopped, also after a reload', async () => {
    const question = 'Tell me the whole history of calculus';
    scripted.set(question, { text: `First part of the story. ${'And then more happened. '.repeat(30)}`, delayMs: 400 });
    await page.getByLabel('Message').fill(question);
    await page.getByRole('button', { name: 'Send' }).click();
    await lastAnswer().getByText('First part of the story.').waitFor({ timeout: MINUTE });
    await page.getByRole('button', { name: 'Stop' }).click();
    await lastAnswer().getByText(/^Stopped/).waitFor();
    await eventually(async () => expect((await storedMessages(question)).at(-1)).toMatchObject({ status: 'stopped', content: expect.stringContaining('First part') }), 30_000);
    await page.reload();
    await lastAnswer().getByText(/^Stopped/).waitFor();
    expect(await lastAnswer().getAttribute('data-status')).toBe('stopped');
    expect(await lastAnswer().innerText()).toContain('First part of the story.');
  }, 2 * MINUTE);

  test('copies an answer, regenerates it in place, and edits and resends the last question', async () => {
    const stopped = 'Tell me the whole history of calculus';
    const calls = requestsFor(stopped).length;
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await eventually(() => expect(requestsFor(stopped).length).toBeGreaterThan(calls), MINUTE, 50);
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
    expect(await lastAnswer().getAttribute('data-status')).toBe('done');
    expect(await lastAnswer().innerText()).toContain(DEFAULT_ANSWER_INTRO);
    expect((await storedMessages(stopped)).filter((m) => m.content === stopped)).toHaveLength(1);

    await lastAnswer().getByRole('button', { name: 'Copy' }).click();
    await lastAnswer().getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`${DEFAULT_ANSWER_INTRO} You asked: **${stopped}**`);

    await page.getByRole('button', { name: 'Edit your last question' }).click();
    expect(await page.getByLabel('Message').inputValue()).toBe(stopped);
    const edited = 'Tell me the short history of calculus';
    await page.getByLabel('Message').fill(edited);
    await page.getByRole('button', { name: 'Send edit' }).click();
    await lastAnswer().getByText(edited).waitFor({ timeout: 2 * MINUTE });
    await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
    const asked = (await storedMessages(edited)).filter((m) => m.role === 'user').map((m) => m.content);
    expect(asked).toContain(edited);
    expect(asked).not.toContain(stopped);
    expect((await questions().allInnerTexts()).at(-1)).toBe(edited);
  }, 4 * MINUTE);

  test('renames a session, and the name survives a reload', async () => {
    page.once('dialog', (dialog) => void dialog.accept('Calculus'));
    await page.getByRole('button', { name: 'Rename session' }).click();
    await page.getByRole('tab', { name: 'Calculus' }).waitFor();
    await page.reload();
    await page.getByRole('tab', { name: 'Calculus', selected: true }).waitFor();
  }, MINUTE);

  test('the files panel shows uploads and the tutor’s notes, not its persona files; previews, renames and deletes with confirmation', async () => {
    const question = 'Please write me a summary note';
    scripted.set(question, { toolCalls: [{ name: 'write_file', arguments: { path: 'notes/calculus.md', content: '# Calculus\n\nThe derivative of x² is 2x.\n' } }] });
    await ask(question);
    await files().getByRole('button', { name: 'Refresh files' }).click();
    await page.getByLabel('Upload files').setInputFiles([
      { name: 'worksheet.pdf', mimeType: 'application/pdf', buffer: ONE_PAGE_PDF },
      { name: 'lecture.txt', mimeType: 'text/plain', buffer: Buffer.from('F = ma') },
    ]);
    await files().getByRole('link', { name: /lecture\.txt/ }).waitFor({ timeout: MINUTE });
    const names = await files().locator('.file-name').allInnerTexts();
    for (const shown of ['homework.png', 'worksheet.pdf', 'lecture.txt', 'calculus.md']) expect(names).toContain(shown);
    for (const hidden of ['AGENTS.md', 'SOUL.md', 'USER.md', 'MEMORY.md', 'HISTORY.md']) expect(names).not.toContain(hidden);
    expect(await files().innerText()).toContain('Notes from your tutor');

    await files().getByRole('button', { name: 'Preview homework.png' }).click();
    const preview = page.getByRole('dialog', { name: 'Preview of homework.png' });
    await preview.getByRole('img', { name: 'homework.png' }).waitFor();
    await page.waitForFunction(() => (document.querySelector('dialog.preview img') as HTMLImageElement | null)?.naturalWidth === 240);
    await shot('file-preview');
    await preview.getByRole('button', { name: 'Close' }).click();
    const pdf = page.waitForResponse((r) => r.url().includes('worksheet.pdf') && r.url().includes('inline=1'));
    await files().getByRole('button', { name: 'Preview worksheet.pdf' }).click();
    const pdfResponse = await pdf;
    expect(pdfResponse.headers()['content-type']).toBe('application/pdf');
    expect(pdfResponse.headers()['content-disposition']).toStartWith('inline');
    await page.getByRole('dialog', { name: 'Preview of worksheet.pdf' }).getByRole('button', { name: 'Close' }).click();

    page.once('dialog', (dialog) => void dialog.accept('mechanics.txt'));
    await files().getByRole('button', { name: 'Rename lecture.txt' }).click();
    await files().getByRole('link', { name: /mechanics\.txt/ }).waitFor();
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.accept();
    });
    await files().getByRole('button', { name: 'Delete mechanics.txt' }).click();
    await files().getByRole('link', { name: /mechanics\.txt/ }).waitFor({ state: 'detached' });
    expect(asked).toContain('Delete mechanics.txt?');
    const listed = await (await page.request.get(`${stack.webUrl}/api/files`)).text();
    expect(listed).not.toContain('mechanics.txt');
    expect(listed).not.toContain('lecture.txt');
    await shot('files');
    expect(await accessibilityProblems(page)).toEqual([]);
  }, 4 * MINUTE);

  test('exports everything the tutor holds as one zip: chats as Markdown, memory, files', async () => {
    const download = page.waitForEvent('download');
    await files().getByRole('link', { name: 'Export everything (.zip)' }).click();
    const zip = await download;
    expect(zip.suggestedFilename()).toBe('tutor-export.zip');
    const entries = unzipSync(readFileSync((await zip.path())!));
    const names = Object.keys(entries);
    for (const name of ['memory/MEMORY.md', 'files/files_uploaded/homework.png', 'files/files_uploaded/worksheet.pdf', 'files/notes/calculus.md']) expect(names).toContain(name);
    expect(Buffer.from(entries['files/notes/calculus.md']!).toString()).toContain('The derivative of x² is 2x.');
    const chats = names.filter((n) => n.startsWith('chats/') && n.endsWith('.md')).map((n) => Buffer.from(entries[n]!).toString()).join('\n');
    for (const asked of ['Is my working right?', 'Can you check my integral?', 'Tell me the short history of calculus']) expect(chats).toContain(asked);
  }, 2 * MINUTE);

  test('with many sessions the active tab stays in view and a list reaches every session', async () => {
    for (let i = 0; i < 3; i++) await newSession();
    const menu = page.getByRole('combobox', { name: 'All sessions' });
    await menu.waitFor();
    const bar = (await page.getByRole('tablist').boundingBox())!;
    const tab = (await page.getByRole('tab', { selected: true }).boundingBox())!;
    expect(tab.x).toBeGreaterThanOrEqual(bar.x - 1);
    expect(tab.x + tab.width).toBeLessThanOrEqual(bar.x + bar.width + 1);
    await menu.selectOption({ label: 'Calculus' });
    await page.getByRole('tab', { name: 'Calculus', selected: true }).waitFor();
    expect((await questions().allInnerTexts()).at(-1)).toBe('Please write me a summary note');
  }, 2 * MINUTE);

  test('follows a dark system theme, with no serious accessibility problems there either', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(15, 17, 23)');
    await shot('chat-dark');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('combobox', { name: 'All sessions' }).selectOption({ label: 'Is my working right?' });
    await lastAnswer().getByRole('alert').filter({ hasText: NO_VISION }).waitFor();
    await lastAnswer().scrollIntoViewIfNeeded();
    await shot('failed-turn-dark');
    // Last: axe scrolls what it checks.
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
  }, 2 * MINUTE);

  test('at 200 % zoom (half the CSS width) nothing scrolls sideways and the chat works; the phone layout holds files and memory', async () => {
    await page.setViewportSize({ width: 640, height: 400 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    expect(await page.getByRole('tab', { selected: true }).isVisible()).toBe(true);
    await page.getByRole('combobox', { name: 'All sessions' }).selectOption({ label: 'What is the sum? calculate: 2/3 + 1/4' });
    await ask('Still readable? calculate: 3 m * 4 m to cm^2');
    expect(await lastAnswer().innerText()).toContain('= 120000 cm^2');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 780 });
    await shot('mobile-chat');
    expect(await files().isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Files & memory' }).click();
    await files().getByText('homework.png').waitFor();
    await shot('mobile-files');
    await page.getByRole('button', { name: 'Files & memory' }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 3 * MINUTE);
});
