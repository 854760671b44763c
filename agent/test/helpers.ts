/** Starts the agent in-process on a free port with a temporary nanobot home. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually as retry } from '../../test/support/eventually.ts';
import type { Calculator } from '../src/calculator.ts';
import { startAgentServer } from '../src/server.ts';

export type TestAgent = {
  url: string;
  home: string;
  workspace: string;
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  stop: () => Promise<void>;
};

export function fakeConfig(apiBase: string, defaults: Record<string, unknown> = {}) {
  return {
    providers: { custom: { apiKey: 'test-key', apiBase } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 256, temperature: 0, memoryWindow: 50, maxToolIterations: 4, ...defaults } },
  };
}

export async function startTestAgent({ config, token, calculator }: { config?: unknown; token?: string; calculator?: Calculator } = {}): Promise<TestAgent> {
  const home = await mkdtemp(join(tmpdir(), 'nbtest-agent-'));
  if (config !== undefined) await writeFile(join(home, 'config.json'), JSON.stringify(config));
  const server = await startAgentServer({ home, port: 0, hostname: '127.0.0.1', token, calculator });
  return {
    url: server.url,
    home,
    workspace: join(home, 'workspace'),
    fetch: (path, init) => fetch(`${server.url}${path}`, init),
    stop: async () => {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export type SseEvent = { event: string; data: unknown };

/** Reads a whole SSE body into its events. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

/** Waits until `check` stops throwing (for work the agent does after answering, like consolidation). */
export const eventually = <T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> => retry(check, timeoutMs, 50);
