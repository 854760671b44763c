import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentServer, type AgentServer } from '../src/server.ts';

describe('first start', () => {
  let home: string;
  let server: AgentServer;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'nbtest-agent-seed-'));
    await mkdir(join(home, 'workspace', 'files_uploaded'), { recursive: true });
    await writeFile(join(home, 'workspace', 'AGENTS.md'), '# My own instructions');
    await writeFile(join(home, 'workspace', 'files_uploaded', '.notes.txt.1234.tmp'), 'half a file');
    server = await startAgentServer({ home, port: 0, hostname: '127.0.0.1' });
  });
  afterAll(async () => {
    await server.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('seeds the tutor templates without overwriting existing files', async () => {
    expect(await readFile(join(home, 'workspace', 'AGENTS.md'), 'utf8')).toBe('# My own instructions');
    expect(await readFile(join(home, 'workspace', 'SOUL.md'), 'utf8')).toContain('tutor');
    expect(await readFile(join(home, 'workspace', 'USER.md'), 'utf8')).toContain('# User');
    expect(await readFile(join(home, 'workspace', 'memory', 'MEMORY.md'), 'utf8')).toContain('# Long-term Memory');
    expect(await readdir(join(home, 'sessions'))).toEqual([]);
  });

  test('removes temporary files a crash left behind', async () => {
    expect(await readdir(join(home, 'workspace', 'files_uploaded'))).toEqual([]);
  });
});
