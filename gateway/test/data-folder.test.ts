import { afterEach, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demuxLogs, lastLines } from '../src/runtime/container-output.ts';
import { agentOwner, prepareDataFolder } from '../src/runtime/data-folder.ts';
import { REPO_ROOT } from '../../scripts/lib/images.ts';

const TEMPLATES = join(REPO_ROOT, 'agent/templates');
const made: string[] = [];
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
afterEach(async () => {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nbtest-folder-'));
  made.push(dir);
  return dir;
}

describe('prepareDataFolder', () => {
  test('makes a 0700 folder seeded from the templates, owned by the agent user when the gateway is root', async () => {
    const folder = join(await tempDir(), 'alice-1234567890');
    await prepareDataFolder(folder, { templateDir: TEMPLATES, uid: 1000, gid: 1001 });
    const info = await stat(folder);
    expect(info.mode & 0o777).toBe(0o700);
    expect(await readFile(join(folder, 'workspace/SOUL.md'), 'utf8')).toBe(await readFile(join(TEMPLATES, 'SOUL.md'), 'utf8'));
    expect(await readFile(join(folder, 'workspace/memory/MEMORY.md'), 'utf8')).toContain('# Long-term Memory');
    const expectedOwner = me.uid === 0 ? [1000, 1001] : [me.uid, me.gid];
    for (const path of [folder, join(folder, 'workspace'), join(folder, 'workspace/memory/MEMORY.md')]) {
      const { uid, gid } = await stat(path);
      expect([uid, gid]).toEqual(expectedOwner);
    }
  });

  test('never overwrites a file the student has, and leaves the ownership of what exists alone', async () => {
    const folder = join(await tempDir(), 'bob-1234567890');
    await mkdir(join(folder, 'workspace'), { recursive: true });
    await writeFile(join(folder, 'workspace/USER.md'), 'my own notes');
    await prepareDataFolder(folder, { templateDir: TEMPLATES, uid: 1000, gid: 1000 });
    expect(await readFile(join(folder, 'workspace/USER.md'), 'utf8')).toBe('my own notes');
    expect((await stat(join(folder, 'workspace/USER.md'))).uid).toBe(me.uid);
    expect(await readFile(join(folder, 'workspace/AGENTS.md'), 'utf8')).toBe(await readFile(join(TEMPLATES, 'AGENTS.md'), 'utf8'));
  });

  test('without a template folder makes only the folder', async () => {
    const folder = join(await tempDir(), 'carol-1234567890');
    await prepareDataFolder(folder, { templateDir: '', uid: 1000, gid: 1000 });
    expect((await stat(folder)).isDirectory()).toBe(true);
    expect(await Bun.file(join(folder, 'workspace')).exists()).toBe(false);
  });
});

describe('agentOwner', () => {
  const unset = { uid: undefined, gid: undefined };

  test('follows the image: root without a USER, a numeric USER as it is, 1000 for a named one', () => {
    expect(agentOwner('', unset)).toEqual({ uid: 0, gid: 0 });
    expect(agentOwner(undefined, unset)).toEqual({ uid: 0, gid: 0 });
    expect(agentOwner('root', unset)).toEqual({ uid: 0, gid: 0 });
    expect(agentOwner('1000:1000', unset)).toEqual({ uid: 1000, gid: 1000 });
    expect(agentOwner('1001', unset)).toEqual({ uid: 1001, gid: 1001 });
    expect(agentOwner('nanobot', unset)).toEqual({ uid: 1000, gid: 1000 });
  });

  test('AGENT_UID and AGENT_GID win over the image', () => {
    expect(agentOwner('', { uid: 1000, gid: undefined })).toEqual({ uid: 1000, gid: 1000 });
    expect(agentOwner('1000:1000', { uid: 0, gid: 0 })).toEqual({ uid: 0, gid: 0 });
    expect(agentOwner('1000:1000', { uid: undefined, gid: 50 })).toEqual({ uid: 1000, gid: 50 });
  });
});

describe('container output', () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };

  test('joins the stdout and stderr frames of a container without a TTY, and passes a raw log through', () => {
    const framed = Buffer.concat([frame(1, 'Loading config\n'), frame(2, 'Error: No API key configured.\n')]);
    expect(demuxLogs(framed)).toBe('Loading config\nError: No API key configured.\n');
    expect(demuxLogs(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
  });

  test('keeps the last non-blank lines, masked and cut', () => {
    const output = `one\n\n  \ntwo apiKey=sk-abcdefgh12345678\n${'x '.repeat(400)}\nthree\n\n`;
    const lines = lastLines(output, 3, 50);
    expect(lines).toEqual(['two apiKey=***', `${'x '.repeat(25)}`.slice(0, 50), 'three']);
  });
});
