/** Images the student uploaded, sent to the model with a question. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imagesOf, startFakeLlm, textOf, type FakeLlm, type FakeReply } from './fake-llm.ts';
import { fakeConfig, postJson, startTestAgent, type TestAgent } from './helpers.ts';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let llm: FakeLlm;
let agent: TestAgent;
let script: FakeReply[] = [];
const headers = { 'X-User-ID': 'photographer', 'X-Session-ID': 'homework' };

beforeAll(async () => {
  llm = startFakeLlm({ respond: () => script.shift() });
  agent = await startTestAgent({ config: fakeConfig(llm.url) });
  const upload = await agent.fetch('/uploads', postJson({ files: [{ name: 'exercise.png', content_base64: PNG.toString('base64') }] }, headers));
  expect(await upload.json()).toEqual({ saved_files: ['files_uploaded/exercise.png'] });
});
afterEach(() => {
  script = [];
  llm.requests.length = 0;
});
afterAll(async () => {
  await agent.stop();
  await llm.stop();
});

type Failure = { error: string; code: string };
const ask = (body: Record<string, unknown>, h: Record<string, string> = headers) => agent.fetch('/chat', postJson(body, h));

describe('images with a question', () => {
  test('reach the model as a data URL, and the session keeps the path', async () => {
    const response = await ask({ message: 'Is exercise 3 right?', images: ['files_uploaded/exercise.png'] });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { response: string }).response).toStartWith('I can see the image you sent.');
    const user = llm.requests[0]?.messages.at(-1);
    expect(textOf(user?.content)).toBe('Is exercise 3 right?');
    expect(imagesOf(user?.content)).toEqual([`data:image/png;base64,${PNG.toString('base64')}`]);

    const { sessions } = (await (await agent.fetch('/sessions', { headers })).json()) as { sessions: Array<{ messages: Array<Record<string, unknown>> }> };
    expect(sessions[0]?.messages[0]).toMatchObject({ role: 'user', content: 'Is exercise 3 right?', images: ['files_uploaded/exercise.png'] });

    // The next turn names the earlier image instead of sending it again.
    await ask({ message: 'And exercise 4?' });
    const history = llm.requests[1]?.messages.find((m) => m.role === 'user');
    expect(history?.content).toBe('Is exercise 3 right?\n\n[images sent with this message: files_uploaded/exercise.png]');
  });

  test('are refused with 400 when they are not uploaded images, naming what to send instead', async () => {
    await writeFile(join(agent.workspace, 'files_uploaded', 'notes.txt'), 'not a picture');
    await writeFile(join(agent.workspace, 'files_uploaded', 'fake.png'), '%PDF-1.4 not a png');
    await writeFile(join(agent.workspace, 'files_uploaded', 'photo.heic'), 'heic bytes');
    await symlink('/etc/hostname', join(agent.workspace, 'files_uploaded', 'link.png'));
    const cases: Array<[unknown, string]> = [
      [['AGENTS.md'], 'invalid_image_path'],
      [['files_uploaded/../AGENTS.md'], 'invalid_image_path'],
      [['files_uploaded/link.png'], 'invalid_image_path'],
      [['files_uploaded/notes.txt'], 'not_an_image'],
      [['files_uploaded/fake.png'], 'not_an_image'],
      [['files_uploaded/photo.heic'], 'unsupported_image'],
      [['files_uploaded/missing.png'], 'image_not_found'],
      [Array(5).fill('files_uploaded/exercise.png'), 'too_many_images'],
      ['files_uploaded/exercise.png', 'invalid_images'],
    ];
    for (const [images, code] of cases) {
      const response = await ask({ message: 'look', images }, { 'X-User-ID': 'refused' });
      expect(response.status).toBe(400);
      const body = (await response.json()) as Failure;
      expect(body.code).toBe(code);
      if (code === 'unsupported_image') expect(body.error).toContain('JPEG or PNG');
    }
    expect(llm.requests).toHaveLength(0);
    expect(await (await agent.fetch('/sessions', { headers: { 'X-User-ID': 'refused' } })).json()).toEqual({ sessions: [] });
  });

  test('to a model without vision end in a clear no_vision note, kept in the session', async () => {
    script = [{ error: { status: 400, message: 'Invalid content type. image_url is only supported by certain models.' } }];
    const h = { 'X-User-ID': 'photographer', 'X-Session-ID': 'blind' };
    const response = await ask({ message: 'What does my photo show?', images: ['files_uploaded/exercise.png'] }, h);
    expect(response.status).toBe(502);
    const body = (await response.json()) as Failure;
    expect(body.code).toBe('no_vision');
    expect(body.error).toContain('cannot read images');
    const { sessions } = (await (await agent.fetch('/sessions', { headers: h })).json()) as { sessions: Array<{ messages: Array<Record<string, unknown>> }> };
    expect(sessions[0]?.messages[1]).toMatchObject({ status: 'error', code: 'no_vision' });
  });

  test('a provider error about something else stays llm_failed', async () => {
    script = [{ error: { status: 400, message: 'context length exceeded' } }];
    const response = await ask({ message: 'again', images: ['files_uploaded/exercise.png'] }, { 'X-User-ID': 'photographer', 'X-Session-ID': 'other' });
    expect(((await response.json()) as Failure).code).toBe('llm_failed');
  });
});
