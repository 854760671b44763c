import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postJson, startTestAgent, type TestAgent } from './helpers.ts';

const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');
const MiB = 1024 * 1024;

let agent: TestAgent;
beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(() => agent.stop());

const upload = (files: Array<{ name: string; content_base64: string }>) => agent.fetch('/uploads', postJson({ files }));
const uploadedNames = async () => (await readdir(join(agent.workspace, 'files_uploaded'))).sort();

describe('uploads', () => {
  test('save files under files_uploaded/ and list them', async () => {
    const response = await upload([{ name: 'notes.txt', content_base64: b64('Newton’s laws') }]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ saved_files: ['files_uploaded/notes.txt'] });
    expect(await readFile(join(agent.workspace, 'files_uploaded', 'notes.txt'), 'utf8')).toBe('Newton’s laws');
    const { files } = (await (await agent.fetch('/files')).json()) as { files: string[] };
    expect(files).toContain('files_uploaded/notes.txt');
    expect(files).toEqual([...files].sort());
  });

  test('reduce names to a safe basename and number clashes', async () => {
    const response = await upload([
      { name: '../../etc/passwd', content_base64: b64('a') },
      { name: 'C:\\Users\\ada\\report.pdf', content_base64: b64('b') },
      { name: 'report.pdf', content_base64: b64('c') },
      { name: '.hidden', content_base64: b64('d') },
      { name: 'we$ird <name>.md', content_base64: b64('e') },
      { name: '..', content_base64: b64('f') },
    ]);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { saved_files: string[] }).saved_files).toEqual([
      'files_uploaded/passwd',
      'files_uploaded/report.pdf',
      'files_uploaded/report_1.pdf',
      'files_uploaded/hidden',
      'files_uploaded/we_ird _name_.md',
      'files_uploaded/file',
    ]);
    expect(await readFile(join(agent.workspace, 'files_uploaded', 'report_1.pdf'), 'utf8')).toBe('c');
    const again = await upload([{ name: 'report.pdf', content_base64: b64('g') }]);
    expect(((await again.json()) as { saved_files: string[] }).saved_files).toEqual(['files_uploaded/report_2.pdf']);
  });

  test('refuse a file over 5 MiB with 413 and write nothing of the batch', async () => {
    const before = await uploadedNames();
    const response = await upload([
      { name: 'small.txt', content_base64: b64('fine') },
      { name: 'big.bin', content_base64: b64(new Uint8Array(5 * MiB + 1)) },
    ]);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'file too large: big.bin (max 5MB per file)', code: 'too_large' });
    expect(await uploadedNames()).toEqual(before);
  });

  test('accept a file of exactly 5 MiB', async () => {
    const response = await upload([{ name: 'exact.bin', content_base64: b64(new Uint8Array(5 * MiB)) }]);
    expect(response.status).toBe(200);
    expect((await Bun.file(join(agent.workspace, 'files_uploaded', 'exact.bin')).arrayBuffer()).byteLength).toBe(5 * MiB);
  });

  test('refuse content that is not strict base64 and write nothing of the batch', async () => {
    const before = await uploadedNames();
    for (const bad of ['not base64!', 'abc', 'ab=c', '@@@@']) {
      const response = await upload([
        { name: 'good.txt', content_base64: b64('ok') },
        { name: 'bad.txt', content_base64: bad },
      ]);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain('bad.txt');
    }
    expect(await uploadedNames()).toEqual(before);
  });

  test('refuse a body without files, or invalid JSON, with 400', async () => {
    expect((await agent.fetch('/uploads', postJson({ files: [] }))).status).toBe(400);
    expect((await agent.fetch('/uploads', postJson({ files: [{ name: 'x' }] }))).status).toBe(400);
    const invalid = await agent.fetch('/uploads', { method: 'POST', body: 'nope' });
    expect(await invalid.json()).toEqual({ error: 'invalid JSON', code: 'invalid_json' });
  });

  test('give concurrent uploads of the same name their own names and keep every content', async () => {
    const contents = ['first', 'second', 'third', 'fourth', 'fifth'];
    const responses = await Promise.all(contents.map((text) => upload([{ name: 'race.md', content_base64: b64(text) }])));
    const saved = await Promise.all(responses.map(async (r) => ((await r.json()) as { saved_files: string[] }).saved_files));
    const names = saved.flat();
    expect(new Set(names).size).toBe(contents.length);
    expect([...names].sort()).toEqual(['race.md', 'race_1.md', 'race_2.md', 'race_3.md', 'race_4.md'].map((n) => `files_uploaded/${n}`));
    const onDisk = await Promise.all(names.map((name) => readFile(join(agent.workspace, name), 'utf8')));
    expect(onDisk).toEqual(contents);
  });

  test('leave no temporary files behind', async () => {
    const names = await readdir(join(agent.workspace, 'files_uploaded'));
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('downloads', () => {
  test('send a workspace file as an attachment with a sensible content type', async () => {
    await upload([{ name: 'summary.md', content_base64: b64('# Summary') }]);
    const response = await agent.fetch('/files/files_uploaded/summary.md');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('# Summary');
    expect(response.headers.get('content-type')).toContain('text/markdown');
    expect(response.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''summary.md");
  });

  test('decode percent-encoded names', async () => {
    await upload([{ name: 'my notes.txt', content_base64: b64('spaced') }]);
    const response = await agent.fetch('/files/files_uploaded/my%20notes.txt');
    expect(await response.text()).toBe('spaced');
  });

  test('answer 404 JSON for a missing file or a folder', async () => {
    for (const path of ['/files/files_uploaded/missing.txt', '/files/memory']) {
      const response = await agent.fetch(path);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toContain('not found');
    }
  });

  test('refuse every path that leaves the workspace', async () => {
    await writeFile(join(agent.home, 'config.json'), '{"providers":{"openai":{"apiKey":"sk-secret"}}}');
    await symlink(join(agent.home, 'config.json'), join(agent.workspace, 'link.json'));
    for (const path of ['/files/..%2Fconfig.json', '/files/files_uploaded/..%2F..%2Fconfig.json', '/files/link.json', '/files/..%2F..%2F..%2Fetc%2Fpasswd']) {
      const response = await agent.fetch(path);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: 'access denied: the path is outside the workspace', code: 'forbidden_path' });
    }
    // These the URL parser folds to /config.json before routing; they must not reach the file either.
    for (const path of ['/files/../config.json', '/files/%2E%2E/config.json']) {
      const response = await agent.fetch(path);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('sk-secret');
    }
  });
});

describe('memory', () => {
  test('returns MEMORY.md and HISTORY.md', async () => {
    await writeFile(join(agent.workspace, 'memory', 'HISTORY.md'), '[2026-01-01 10:00] Talked about limits.\n\n');
    const memory = (await (await agent.fetch('/memory')).json()) as { memory: string; history: string };
    expect(memory.history).toBe('[2026-01-01 10:00] Talked about limits.\n\n');
    expect(memory.memory).toContain('# Long-term Memory');
  });
});
