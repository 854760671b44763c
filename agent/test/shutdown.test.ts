import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { eventually, fakeConfig, postJson } from './helpers.ts';

const ENTRY = join(import.meta.dir, '..', 'src', 'index.ts');

/** Reads the child's stdout until it names its port. */
async function listeningPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the agent exited before listening: ${text}`);
      text += decoder.decode(value, { stream: true });
      const match = /listening on port (\d+)/.exec(text);
      if (match) return Number(match[1]);
    }
  } finally {
    reader.releaseLock();
  }
}

describe('on SIGTERM the agent process', () => {
  let llm: FakeLlm;
  let home: string;
  let child: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'inherit'>>;
  let url: string;
  const answering = Promise.withResolvers<void>();

  beforeAll(async () => {
    // The model "thinks" until the test lets it answer, so the signal arrives while the answer is in flight.
    llm = startFakeLlm({ respond: () => ({ text: 'A slow but complete answer.', holdUntil: answering.promise }) });
    home = await mkdtemp(join(tmpdir(), 'nbtest-agent-term-'));
    await writeFile(join(home, 'config.json'), JSON.stringify(fakeConfig(llm.url)));
    child = Bun.spawn([process.execPath, ENTRY, 'gateway'], {
      // cwd is the temporary home so the child loads no .env of the repository.
      cwd: home,
      env: { ...process.env, NANOBOT_HOME: home, NANOBOT_HTTP_PORT: '0', NANOBOT_HTTP_HOST: '127.0.0.1' },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'inherit',
    });
    url = `http://127.0.0.1:${await listeningPort(child.stdout)}`;
  }, 30_000);

  afterAll(async () => {
    answering.resolve();
    child.kill('SIGKILL');
    await child.exited;
    await llm.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('stops taking requests, finishes and saves the answer in flight, then exits', async () => {
    const headers = { 'X-User-ID': 'leaver' };
    const chat = fetch(`${url}/chat`, postJson({ message: 'Explain momentum' }, headers));
    await eventually(async () => expect(llm.requests).toHaveLength(1));

    child.kill('SIGTERM');
    await eventually(async () => expect(fetch(`${url}/health`)).rejects.toThrow());
    answering.resolve();

    const response = await chat;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ response: 'A slow but complete answer.' });
    expect(await child.exited).toBe(0);

    const lines = (await readFile(join(home, 'sessions', 'http_leaver.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { role?: string; content?: string });
    expect(lines.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['user', 'Explain momentum'],
      ['assistant', 'A slow but complete answer.'],
    ]);
  }, 30_000);
});
