import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseProvider, ConfigError, loadConfig } from '../src/config.ts';

describe('choosing the provider as nanobot does', () => {
  test('a provider named in the model wins over the first one with a key', () => {
    const choice = chooseProvider({ openai: { apiKey: 'sk-o' }, anthropic: { apiKey: 'sk-a' } }, 'anthropic/claude-sonnet-4-5');
    expect(choice).toMatchObject({ name: 'anthropic', kind: 'anthropic', apiKey: 'sk-a', model: 'claude-sonnet-4-5' });
  });

  test('a keyword in the model name picks the provider', () => {
    expect(chooseProvider({ openai: { apiKey: 'o' }, deepseek: { apiKey: 'd' } }, 'deepseek-chat')).toMatchObject({
      name: 'deepseek',
      apiBase: 'https://api.deepseek.com',
      model: 'deepseek-chat',
    });
    expect(chooseProvider({ groq: { apiKey: 'g' }, openai: { apiKey: 'o' } }, 'gpt-4o-mini')?.name).toBe('openai');
  });

  test('otherwise the first provider with a key, gateways keeping the full model name', () => {
    const choice = chooseProvider({ openai: { apiKey: '' }, openrouter: { apiKey: 'or' } }, 'anthropic/claude-opus-4-5');
    expect(choice).toMatchObject({ name: 'openrouter', apiBase: 'https://openrouter.ai/api/v1', model: 'anthropic/claude-opus-4-5' });
  });

  test('a custom OpenAI-compatible server needs only its apiBase', () => {
    expect(chooseProvider({ custom: { apiKey: '', apiBase: 'http://localhost:11434/v1' } }, 'llama3.2')).toMatchObject({
      name: 'custom',
      kind: 'openai',
      apiBase: 'http://localhost:11434/v1',
      model: 'llama3.2',
    });
  });

  test('no key anywhere means no provider', () => {
    expect(chooseProvider({ openai: { apiKey: '' }, anthropic: { apiKey: '  ' }, custom: { apiKey: '', apiBase: '' } }, 'gpt-4o')).toBeUndefined();
  });
});

describe('loading config.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtest-agent-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('reads nanobot’s camelCase schema and fills the defaults', async () => {
    const path = join(dir, 'camel.json');
    await writeFile(
      path,
      JSON.stringify({ providers: { openai: { apiKey: 'sk', extraHeaders: {} } }, agents: { defaults: { model: 'gpt-4o-mini', memoryWindow: 10, workspace: '~/x' } }, channels: {} }),
    );
    const config = await loadConfig(path);
    expect(config.defaults).toEqual({
      model: 'gpt-4o-mini',
      maxTokens: 8192,
      temperature: 0.7,
      memoryWindow: 10,
      maxToolIterations: 20,
      llmTimeoutSeconds: 120,
      llmFirstTokenSeconds: 30,
    });
    expect(config.provider?.name).toBe('openai');
  });

  test('accepts snake_case keys as nanobot does', async () => {
    const path = join(dir, 'snake.json');
    await writeFile(path, JSON.stringify({ providers: { anthropic: { api_key: 'k' } }, agents: { defaults: { model: 'claude-x', max_tokens: 100, max_tool_iterations: 3 } } }));
    const config = await loadConfig(path);
    expect(config.defaults.maxTokens).toBe(100);
    expect(config.defaults.maxToolIterations).toBe(3);
    expect(config.provider?.apiKey).toBe('k');
  });

  test('treats a missing file as an empty config', async () => {
    const config = await loadConfig(join(dir, 'missing.json'));
    expect(config.provider).toBeUndefined();
  });

  test('explains invalid JSON or values', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{');
    await expect(loadConfig(broken)).rejects.toThrow(ConfigError);
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ agents: { defaults: { temperature: 'hot' } } }));
    await expect(loadConfig(wrong)).rejects.toThrow(/temperature/);
  });
});
