/** What the model's write_file and edit_file may change, and the quota its notes count towards. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm, type FakeReply, type FakeToolCall } from './fake-llm.ts';
import { fakeConfig, postJson, startTestAgent, type TestAgent } from './helpers.ts';

let llm: FakeLlm;
let agent: TestAgent;
let script: FakeReply[] = [];

beforeAll(async () => {
  llm = startFakeLlm({ respond: () => script.shift() });
  // The quota is read from the environment when the agent starts.
  process.env.NANOBOT_QUOTA_FILES = '3';
  process.env.NANOBOT_QUOTA_BYTES = '1000';
  try {
    agent = await startTestAgent({ config: fakeConfig(llm.url) });
  } finally {
    delete process.env.NANOBOT_QUOTA_FILES;
    delete process.env.NANOBOT_QUOTA_BYTES;
  }
});
afterEach(() => {
  script = [];
});
afterAll(async () => {
  await agent.stop();
  await llm.stop();
});

/** Runs the tool calls in one round and returns what each answered. */
async function runTools(session: string, toolCalls: FakeToolCall[]): Promise<string[]> {
  script = [{ toolCalls }, { text: 'done' }];
  llm.requests.length = 0;
  const response = await agent.fetch('/chat', postJson({ message: 'do it' }, { 'X-Session-ID': session }));
  expect(response.status).toBe(200);
  return llm.requests[1]?.messages.filter((m) => m.role === 'tool').map((m) => String(m.content)) ?? [];
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('the model’s writes', () => {
  test('cannot overwrite the student’s uploads, the tutor’s instructions or the history log', async () => {
    const upload = await agent.fetch('/uploads', postJson({ files: [{ name: 'essay.txt', content_base64: b64('my own essay') }] }));
    expect(upload.status).toBe(200);
    const protectedFiles = ['files_uploaded/essay.txt', 'AGENTS.md', 'SOUL.md', 'memory/HISTORY.md'];
    await writeFile(join(agent.workspace, 'memory', 'HISTORY.md'), 'history so far');
    const before = await Promise.all(protectedFiles.map((path) => readFile(join(agent.workspace, path), 'utf8')));
    const results = await runTools('protected', [
      { name: 'write_file', arguments: { path: 'files_uploaded/essay.txt', content: 'replaced' } },
      { name: 'edit_file', arguments: { path: 'files_uploaded/essay.txt', old_text: 'own', new_text: 'stolen' } },
      { name: 'write_file', arguments: { path: 'SOUL.md', content: 'Give every answer away at once.' } },
      { name: 'edit_file', arguments: { path: 'AGENTS.md', old_text: 'patient', new_text: 'impatient' } },
      { name: 'write_file', arguments: { path: 'memory/HISTORY.md', content: '' } },
      { name: 'write_file', arguments: { path: 'notes/../SOUL.md', content: 'x' } },
      { name: 'write_file', arguments: { path: 'elsewhere/big.md', content: 'x' } },
    ]);
    expect(results).toHaveLength(7);
    for (const result of results) expect(result).toContain('read-only');
    expect(await Promise.all(protectedFiles.map((path) => readFile(join(agent.workspace, path), 'utf8')))).toEqual(before);
    expect(await Bun.file(join(agent.workspace, 'elsewhere')).exists()).toBe(false);
    await agent.fetch('/files/files_uploaded/essay.txt', { method: 'DELETE' });
  });

  test('still write notes, MEMORY.md and USER.md', async () => {
    const results = await runTools('allowed', [
      { name: 'write_file', arguments: { path: 'notes/algebra/limits.md', content: '# Limits' } },
      { name: 'edit_file', arguments: { path: 'memory/MEMORY.md', old_text: '# Long-term Memory', new_text: '# Long-term Memory (edited)' } },
      { name: 'edit_file', arguments: { path: 'USER.md', old_text: '- Name:', new_text: '- Name: Ada' } },
    ]);
    expect(results).toEqual(['Wrote 8 characters to notes/algebra/limits.md', 'Edited memory/MEMORY.md', 'Edited USER.md']);
    expect(await readFile(join(agent.workspace, 'notes', 'algebra', 'limits.md'), 'utf8')).toBe('# Limits');
    expect(await readFile(join(agent.workspace, 'USER.md'), 'utf8')).toContain('- Name: Ada');
  });

  test('count towards the upload quota: notes cannot pass its files or its bytes', async () => {
    // limits.md from the test above is the first of the 3 files allowed.
    const files = await runTools('quota-files', [
      { name: 'write_file', arguments: { path: 'notes/a.md', content: 'a' } },
      { name: 'write_file', arguments: { path: 'notes/b.md', content: 'b' } },
      { name: 'write_file', arguments: { path: 'notes/c.md', content: 'c' } },
    ]);
    expect(files.slice(0, 2)).toEqual(['Wrote 1 characters to notes/a.md', 'Wrote 1 characters to notes/b.md']);
    expect(files[2]).toContain('quota exceeded');
    expect((await readdir(join(agent.workspace, 'notes'))).sort()).toEqual(['a.md', 'algebra', 'b.md']);

    // Replacing a note is no new file; it may grow only to the bytes left (1000 in all).
    const bytes = await runTools('quota-bytes', [
      { name: 'write_file', arguments: { path: 'notes/a.md', content: 'x'.repeat(900) } },
      { name: 'write_file', arguments: { path: 'notes/b.md', content: 'y'.repeat(200) } },
      { name: 'edit_file', arguments: { path: 'notes/b.md', old_text: 'b', new_text: 'z'.repeat(200) } },
    ]);
    expect(bytes[0]).toBe('Wrote 900 characters to notes/a.md');
    expect(bytes[1]).toContain('quota exceeded');
    expect(bytes[2]).toContain('quota exceeded');
    expect(await readFile(join(agent.workspace, 'notes', 'b.md'), 'utf8')).toBe('b');

    // And the notes count against the student's uploads as before.
    const upload = await agent.fetch('/uploads', postJson({ files: [{ name: 'more.txt', content_base64: b64('more') }] }));
    expect(upload.status).toBe(413);
    expect(((await upload.json()) as { code: string }).code).toBe('quota_exceeded');
  });
});
