/**
 * The whole product as a newcomer gets it: `bun run setup` on a copy of this repository (offline
 * base images here), a fake OpenAI-compatible LLM on the stack's network, and two students in a
 * real Chromium. Slow by nature (three image builds); everything else in the suite is faster.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { prepareBuild } from '../scripts/lib/images.ts';
import { capture, run } from '../scripts/lib/run.ts';
import { instanceFilterArgs } from '../gateway/src/runtime/labels.ts';
import { createStack, type Stack } from './stack.ts';
import { launchChromium } from './support/chromium.ts';
import { startFakeLlmContainer, type FakeLlmContainer } from './support/fake-llm-container.ts';
import { eventually, waitForUrl } from './support/eventually.ts';
import { acceptInvite, addStudents } from './support/students.ts';

const MINUTE = 60_000;
const students = ['ada@example.edu', 'ada.example@edu.org'] as const;

let stack: Stack;
let browser: Browser;
const pages = new Map<string, Page>();
let llm: FakeLlmContainer | undefined;

async function ask(page: Page, message: string): Promise<string> {
  const answers = page.locator('[data-role="assistant"]');
  const before = await answers.count();
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  await eventually(async () => expect(await answers.count()).toBeGreaterThan(before), 2 * MINUTE);
  const answer = answers.nth(before);
  // The answer is complete when the Stop button has gone away again.
  await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
  return answer.innerText();
}

async function filesListed(page: Page): Promise<string> {
  return page.getByRole('region', { name: 'Files' }).innerText();
}

beforeAll(async () => {
  const network = `nbstack-${Date.now().toString(36)}-net`;
  llm = await startFakeLlmContainer(network);
  stack = await createStack(
    {
      providers: { custom: { apiKey: 'test-key', apiBase: llm.apiBase } },
      // The smallest window, so the second question already moves the first into MEMORY.md (consolidation).
      agents: { defaults: { model: 'fake-tutor', maxTokens: 512, temperature: 0.2, memoryWindow: 2, maxToolIterations: 4 } },
    },
    { NETWORK_NAME: network },
  );
  await run(['bun', 'scripts/setup.ts'], { cwd: stack.dir });
  browser = await launchChromium();
  const invites = await addStudents(stack, students);
  for (const email of students) {
    const page = await (await browser.newContext()).newPage();
    await acceptInvite(page, stack, invites.get(email)!, `the own password of ${email}`);
    pages.set(email, page);
  }
}, 30 * MINUTE);

afterAll(async () => {
  await browser?.close();
  await llm?.remove();
  await stack?.destroy();
}, 5 * MINUTE);

const page = (email: string) => pages.get(email)!;

describe('the whole stack after bun run setup', () => {
  test('keeps the accounts in data/.state/stack.db, mode 0600, and refuses a bare X-User-Email', async () => {
    const mode = await capture(['docker', 'run', '--rm', '-v', `${join(stack.dir, 'data')}:/data:ro`, (await prepareBuild()).bunImage, 'stat', '-c', '%a', '/data/.state/stack.db']);
    expect(mode.stdout.trim()).toBe('600');
    const token = readFileSync(join(stack.dir, '.env'), 'utf8').split('\n').find((l) => l.startsWith('GATEWAY_TOKEN='))!.slice('GATEWAY_TOKEN='.length);
    const bare = await fetch(`${stack.gatewayUrl}/memory`, { headers: { Authorization: `Bearer ${token}`, 'X-User-Email': students[0] } });
    expect(bare.status).toBe(401);
  });

  test('each student chats with their own tutor and sees the answer streamed in', async () => {
    for (const email of students) {
      const answer = await ask(page(email), `Hello, I am ${email}. Explain energy.`);
      expect(answer).toContain('E = mc');
    }
    expect(await stack.agentContainers()).toHaveLength(2);
  }, 5 * MINUTE);

  test('each student uploads a file and sees only their own files', async () => {
    for (const email of students) {
      const name = `${email.split('@')[0]}-notes.txt`;
      await page(email).getByLabel('Upload files').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(`notes of ${email}`) });
      await eventually(async () => expect(await filesListed(page(email))).toContain(name), MINUTE);
    }
    const [ada, other] = students;
    expect(await filesListed(page(ada))).not.toContain('ada.example-notes.txt');
    expect(await filesListed(page(other))).not.toContain('ada-notes.txt');
  }, 3 * MINUTE);

  test('a restarted gateway adopts the running agents instead of creating new ones', async () => {
    const before = await stack.agentContainers();
    await stack.compose('restart', 'gateway');
    await waitForUrl(`${stack.gatewayUrl}/readyz`);
    for (const email of students) {
      expect(await ask(page(email), 'Still there after the restart?')).toContain('E = mc');
    }
    expect(await stack.agentContainers()).toEqual(before);
  }, 5 * MINUTE);

  test('bringing the stack down and up again keeps every chat, memory and file', async () => {
    const before = await stack.agentContainers();
    await run(['bun', 'scripts/down.ts', '--agents'], { cwd: stack.dir });
    const running = await capture(['docker', 'ps', '-q', ...instanceFilterArgs(stack.instance)]);
    expect(running.stdout.trim()).toBe('');
    await stack.compose('up', '-d', '--no-build');
    await waitForUrl(`${stack.webUrl}/login`);
    for (const email of students) {
      const p = page(email);
      await p.reload();
      const transcript = page(email).locator('[data-role="user"]');
      await eventually(async () => expect(await transcript.allInnerTexts()).toContain('Still there after the restart?'), 2 * MINUTE);
      expect(await filesListed(p)).toContain(`${email.split('@')[0]}-notes.txt`);
      const memory = await p.request.get(`${stack.webUrl}/api/memory`);
      expect(memory.status()).toBe(200);
      // Only this student's own conversation, consolidated by the fake LLM, puts this line there.
      expect((await memory.json()).memory).toContain(`Studied: Hello, I am ${email}. Explain energy.`);
      const sessions = await (await p.request.get(`${stack.webUrl}/api/sessions`)).json();
      const contents = sessions.sessions.flatMap((s: { messages: { content: string }[] }) => s.messages.map((m) => m.content));
      expect(contents).toContain(`Hello, I am ${email}. Explain energy.`);
    }
    expect(await stack.agentContainers()).toEqual(before);
  }, 8 * MINUTE);

  test('running setup again keeps .env, config.json and every student\'s data', async () => {
    const read = (file: string) => readFileSync(join(stack.dir, file), 'utf8');
    const [env, config, containers] = [read('.env'), read('config.json'), await stack.agentContainers()];
    await run(['bun', 'scripts/setup.ts'], { cwd: stack.dir });
    expect(read('.env')).toBe(env);
    expect(read('config.json')).toBe(config);
    for (const email of students) {
      const sessions = await (await page(email).request.get(`${stack.webUrl}/api/sessions`)).json();
      expect(JSON.stringify(sessions)).toContain(`Hello, I am ${email}. Explain energy.`);
      expect(await (await page(email).request.get(`${stack.webUrl}/api/files`)).text()).toContain(`${email.split('@')[0]}-notes.txt`);
    }
    expect(await stack.agentContainers()).toEqual(containers);
  }, 15 * MINUTE);
});
