/** nanobot's command line: `status` prints the settings and exits, an unknown command is refused. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeConfig } from './helpers.ts';

const ENTRY = join(import.meta.dir, '..', 'src', 'index.ts');
const KEY = 'sk-cli-test-DO-NOT-PRINT-0123456789';

let home: string;

async function run(args: string[], env: Record<string, string> = {}) {
  // cwd is the temporary home so the child loads no .env of the repository.
  const child = Bun.spawn([process.execPath, ENTRY, ...args], { cwd: home, env: { ...process.env, NANOBOT_HOME: home, ...env }, stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'nbtest-agent-cli-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('the command line', () => {
  test('status prints provider, model, workspace and whether a key is set, never the key, and exits 0', async () => {
    const config = fakeConfig('http://user:pass@llm.example:4010/v1');
    config.providers.custom.apiKey = KEY;
    await writeFile(join(home, 'config.json'), JSON.stringify(config));
    const { stdout, code } = await run(['status']);
    expect(code).toBe(0);
    expect(stdout).toContain('Provider: custom (http://llm.example:4010/v1)');
    expect(stdout).toContain('Model: fake-tutor');
    expect(stdout).toContain(`Workspace: ${join(home, 'workspace')}`);
    expect(stdout).toContain('API key: configured');
    expect(stdout).not.toContain(KEY);
    expect(stdout).not.toContain('pass');
  });

  test('status without a provider says so', async () => {
    await writeFile(join(home, 'config.json'), '{}');
    const { stdout, code } = await run(['status']);
    expect(code).toBe(0);
    expect(stdout).toContain('Provider: none configured');
    expect(stdout).toContain('API key: not set');
  });

  test('gateway refuses a token that no Authorization header could carry', async () => {
    const { stderr, code } = await run(['gateway'], { NANOBOT_HTTP_TOKEN: 'has spaces in it', NANOBOT_HTTP_PORT: '0' });
    expect(code).toBe(2);
    expect(stderr).toContain('NANOBOT_HTTP_TOKEN may contain only');
  });

  test('an unknown command is refused with the usage and exit code 2', async () => {
    const { stderr, code } = await run(['serve']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command: serve');
    expect(stderr).toContain('gateway');
    expect(stderr).toContain('status');
  });
});
