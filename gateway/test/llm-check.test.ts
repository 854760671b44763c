/** The LLM provider check against the fake OpenAI-compatible server: reachable, refused, unreachable, not configured. */
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeLlm } from '../../agent/test/fake-llm.ts';
import { checkLlm } from '../src/admin/llm-check.ts';

const KEY = 'sk-test-0123456789abcdefghij';
const dir = mkdtempSync(join(tmpdir(), 'nbtest-llm-check-'));
const llm = startFakeLlm({
  respond: (req) => (req.model === 'refused-model' ? { error: { status: 401, message: `Incorrect API key provided: ${KEY}` } } : undefined),
});
afterAll(async () => {
  await llm.stop();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
function config(value: unknown): string {
  const path = join(dir, `config-${(serial += 1)}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
}
const custom = (apiBase: string, model: string) => config({ providers: { custom: { apiKey: KEY, apiBase } }, agents: { defaults: { model } } });

test('a configured provider that answers is reachable, with the provider and model the agents use', async () => {
  const result = await checkLlm(custom(llm.url, 'gpt-4o-mini'));
  expect(result).toMatchObject({ configured: true, provider: 'custom', model: 'gpt-4o-mini', apiBase: llm.url, keyConfigured: true, reachable: true, status: 200 });
  expect(llm.requests.at(-1)?.model).toBe('gpt-4o-mini');
});

test('a provider that refuses says why, and never shows the key', async () => {
  const result = await checkLlm(custom(llm.url, 'refused-model'));
  expect(result).toMatchObject({ configured: true, reachable: false, status: 401 });
  const error = 'error' in result ? String(result.error) : '';
  expect(error).toContain('401 Incorrect API key provided');
  expect(JSON.stringify(result)).not.toContain(KEY);
});

test('a broken apiBase is configured but unreachable, and says where it tried', async () => {
  const result = await checkLlm(custom('http://127.0.0.1:9/v1', 'gpt-4o-mini'), { timeoutMs: 3_000 });
  expect(result).toMatchObject({ configured: true, reachable: false, apiBase: 'http://127.0.0.1:9/v1' });
  expect('error' in result && result.error).toContain('cannot reach http://127.0.0.1:9/v1');
  expect(JSON.stringify(result)).not.toContain(KEY);
});

test('no key anywhere, or no config.json at all, is not configured, with the agent’s own advice', async () => {
  for (const path of [config({ providers: { openai: { apiKey: '' } } }), join(dir, 'missing.json')]) {
    const result = await checkLlm(path);
    expect(result.configured).toBe(false);
    expect(result.reachable).toBe(false);
    expect('error' in result && result.error).toContain('config.json');
  }
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{ not json');
  expect(await checkLlm(broken)).toMatchObject({ configured: false, reachable: false });
});
