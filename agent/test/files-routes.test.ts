/** Names, quota, full disk, delete, rename, previews and export of the files routes, on a temporary workspace. */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { Hono } from 'hono';
import { sessionMarkdown, type ExportSession } from '../src/export.ts';
import { filesRoutes, type FilesRoutesOptions } from '../src/files-routes.ts';
import { DEFAULT_QUOTA, quotaFromEnv, safeFileName, withSuffix, type FileWriter } from '../src/uploads.ts';
import { layoutOf, seedWorkspace, type Layout } from '../src/workspace.ts';

const b64 = (data: string | Uint8Array) => Buffer.from(data).toString('base64');
const MiB = 1024 * 1024;
const bytes = (text: string) => Buffer.byteLength(text);

let home: string;
let layout: Layout;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'nbtest-agent-files-'));
  layout = layoutOf(home);
  await seedWorkspace(layout);
});
afterEach(() => rm(home, { recursive: true, force: true }));

function appWith(options: Partial<FilesRoutesOptions> = {}) {
  const app = new Hono().route('/', filesRoutes({ layout, sessions: async () => [], quota: DEFAULT_QUOTA, ...options }));
  return (path: string, init?: RequestInit) => app.request(path, init);
}
const json = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const uploadBody = (files: Array<[name: string, content: string | Uint8Array]>) => json({ files: files.map(([name, content]) => ({ name, content_base64: b64(content) })) });
const uploadsOnDisk = async () => (await readdir(layout.uploads)).sort();

describe('upload names', () => {
  test('a name of 71 CJK characters is saved whole, within 255 UTF-8 bytes', async () => {
    const name = `${'漢'.repeat(71)}.txt`;
    const response = await appWith()('/uploads', uploadBody([[name, 'x']]));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ saved_files: [`files_uploaded/${name}`] });
    expect(await readFile(join(layout.uploads, name), 'utf8')).toBe('x');
  });

  test('longer names are cut by UTF-8 bytes on a character boundary, keeping the extension', () => {
    const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
    for (const name of [`${'漢'.repeat(200)}.pdf`, `${'a'.repeat(400)}.pdf`, `${'नमस्ते'.repeat(40)}.md`, `${'é'.repeat(300)}.tar.gz`]) {
      const safe = safeFileName(name);
      expect(bytes(safe)).toBeLessThanOrEqual(255);
      expect(bytes(safe)).toBeGreaterThan(200);
      expect(safe).toEndWith(name.slice(name.lastIndexOf('.')));
      // The kept stem is a run of whole characters from the start: no character is cut in half.
      const stem = graphemes(safe.slice(0, safe.lastIndexOf('.')));
      expect(stem).toEqual(graphemes(name).slice(0, stem.length));
    }
  });

  test('a numbered copy of a 255-byte name still fits, with its number and extension', async () => {
    const name = safeFileName(`${'漢'.repeat(200)}.pdf`);
    expect(bytes(withSuffix(name, 12345))).toBeLessThanOrEqual(255);
    expect(withSuffix(name, 12345)).toEndWith('_12345.pdf');
    const response = await appWith()('/uploads', uploadBody([[name, 'a'], [name, 'b']]));
    const { saved_files } = (await response.json()) as { saved_files: string[] };
    expect(saved_files[1]).toEndWith('_1.pdf');
    expect(await readFile(join(home, 'workspace', saved_files[1]!), 'utf8')).toBe('b');
  });

  test('1,000 files of one name in one upload get 1,000 names, in linear time', async () => {
    const files = Array.from({ length: 1000 }, (_, i): [string, string] => ['same.txt', String(i)]);
    const started = performance.now();
    const response = await appWith()('/uploads', uploadBody(files));
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    const { saved_files } = (await response.json()) as { saved_files: string[] };
    expect(saved_files[0]).toBe('files_uploaded/same.txt');
    expect(saved_files[999]).toBe('files_uploaded/same_999.txt');
    expect(new Set(saved_files).size).toBe(1000);
    expect(await readFile(join(layout.uploads, 'same_500.txt'), 'utf8')).toBe('500');
    console.log(`1,000 files of one name: ${elapsed.toFixed(0)} ms`);
  });

  test('a valid 6 MiB file is refused as too large (413), not as bad base64', async () => {
    const response = await appWith()('/uploads', uploadBody([['big.bin', new Uint8Array(6 * MiB).fill(7)]]));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'file too large: big.bin (max 5MB per file)', code: 'too_large' });
  });
});

describe('upload quota', () => {
  test('is read from NANOBOT_QUOTA_BYTES and NANOBOT_QUOTA_FILES, 1 GiB and 1,000 files by default', () => {
    expect(quotaFromEnv({})).toEqual({ bytes: 1024 ** 3, files: 1000 });
    expect(quotaFromEnv({ NANOBOT_QUOTA_BYTES: '5000', NANOBOT_QUOTA_FILES: '3' })).toEqual({ bytes: 5000, files: 3 });
    for (const bad of ['-1', '1.5', 'lots', '1e400']) expect(() => quotaFromEnv({ NANOBOT_QUOTA_BYTES: bad })).toThrow('NANOBOT_QUOTA_BYTES');
  });

  test('refuses a batch over the bytes left with 413, how much is left, and writes none of it', async () => {
    const request = appWith({ quota: { bytes: 1000, files: 100 } });
    await mkdir(layout.notes);
    await writeFile(join(layout.notes, 'mine.md'), 'n'.repeat(100));
    expect((await request('/uploads', uploadBody([['a.txt', 'a'.repeat(500)]]))).status).toBe(200);
    const before = await uploadsOnDisk();
    const response = await request('/uploads', uploadBody([['b.txt', 'b'.repeat(200)], ['c.txt', 'c'.repeat(201)]]));
    expect(response.status).toBe(413);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'quota_exceeded', remaining_bytes: 400, remaining_files: 98 });
    expect(body.error).toBe('upload quota exceeded: 0.0 MB and 98 files left');
    expect(await uploadsOnDisk()).toEqual(before);
    expect((await request('/uploads', uploadBody([['b.txt', 'b'.repeat(400)]]))).status).toBe(200);
  });

  test('refuses a batch over the files left', async () => {
    const request = appWith({ quota: { bytes: 1e9, files: 3 } });
    expect((await request('/uploads', uploadBody([['1', '1'], ['2', '2']]))).status).toBe(200);
    const response = await request('/uploads', uploadBody([['3', '3'], ['4', '4']]));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'quota_exceeded', remaining_files: 1 });
    expect(await uploadsOnDisk()).toEqual(['1', '2']);
  });

  test('concurrent batches cannot both pass the check', async () => {
    const request = appWith({ quota: { bytes: 1e9, files: 5 } });
    const batch = uploadBody([['x', '1'], ['y', '2'], ['z', '3']]);
    const statuses = (await Promise.all([request('/uploads', batch), request('/uploads', batch)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 413]);
    expect(await uploadsOnDisk()).toEqual(['x', 'y', 'z']);
  });
});

describe('a full disk while writing', () => {
  const diskFull: FileWriter = async (path, data) => {
    if (new TextDecoder().decode(data) === 'second') {
      await writeFile(path, data.subarray(0, 3));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    await writeFile(path, data, { flag: 'wx' });
  };

  test('answers 413 disk_full with the space left, and leaves neither a partial file nor the rest of the batch', async () => {
    const response = await appWith({ write: diskFull })('/uploads', uploadBody([['first.txt', 'first'], ['second.txt', 'second']]));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: string; code: string; remaining_bytes: number };
    expect(body.code).toBe('disk_full');
    expect(body.remaining_bytes).toBeGreaterThan(0);
    expect(body.error).toMatch(/^not enough disk space: \d+\.\d MB left; nothing of this upload was saved$/);
    expect(await readdir(layout.uploads)).toEqual([]);
  });
});

describe('delete', () => {
  test('removes a file under files_uploaded/ or notes/', async () => {
    const request = appWith();
    await request('/uploads', uploadBody([['old.txt', 'x']]));
    await mkdir(join(layout.notes, 'week 1'), { recursive: true });
    await writeFile(join(layout.notes, 'week 1', 'n.md'), 'n');
    expect(await (await request('/files/files_uploaded/old.txt', { method: 'DELETE' })).json()).toEqual({ deleted: 'files_uploaded/old.txt' });
    expect(await (await request('/files/notes/week%201/n.md', { method: 'DELETE' })).json()).toEqual({ deleted: 'notes/week 1/n.md' });
    expect(await readdir(layout.uploads)).toEqual([]);
    expect(await readdir(join(layout.notes, 'week 1'))).toEqual([]);
  });

  test('answers 404 when absent and 403 forbidden_path elsewhere in the workspace', async () => {
    const request = appWith();
    const missing = await request('/files/files_uploaded/none.txt', { method: 'DELETE' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'file not found', code: 'not_found' });
    for (const path of ['AGENTS.md', 'memory/MEMORY.md', 'files_uploaded/..%2FSOUL.md']) {
      const response = await request(`/files/${path}`, { method: 'DELETE' });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { code: string }).code).toBe('forbidden_path');
    }
    expect(await Bun.file(layout.memoryFile).exists()).toBe(true);
  });

  test('a notes/ folder that links to memory/ does not make memory deletable', async () => {
    await symlink(layout.memoryDir, layout.notes);
    const response = await appWith()('/files/notes/MEMORY.md', { method: 'DELETE' });
    expect(response.status).toBe(403);
    expect(await Bun.file(layout.memoryFile).exists()).toBe(true);
  });
});

describe('rename', () => {
  test('renames in the same folder, making the name safe', async () => {
    const request = appWith();
    await request('/uploads', uploadBody([['draft.md', 'text']]));
    const response = await request('/files/files_uploaded/draft.md', json({ name: '../../final <v2>.md' }, 'PATCH'));
    expect(await response.json()).toEqual({ path: 'files_uploaded/final _v2_.md' });
    expect(await uploadsOnDisk()).toEqual(['final _v2_.md']);
  });

  test('answers 409 when the name is taken and keeps both files', async () => {
    const request = appWith();
    await request('/uploads', uploadBody([['a.md', 'A'], ['b.md', 'B']]));
    const response = await request('/files/files_uploaded/a.md', json({ name: 'b.md' }, 'PATCH'));
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe('name_taken');
    expect(await readFile(join(layout.uploads, 'a.md'), 'utf8')).toBe('A');
    expect(await readFile(join(layout.uploads, 'b.md'), 'utf8')).toBe('B');
  });

  test('refuses files outside files_uploaded/ and notes/', async () => {
    const response = await appWith()('/files/SOUL.md', json({ name: 'x.md' }, 'PATCH'));
    expect(response.status).toBe(403);
    expect(await Bun.file(join(layout.workspace, 'SOUL.md')).exists()).toBe(true);
  });
});

describe('previews', () => {
  const fetchAs = async (name: string, content: string, query = '?inline=1') => {
    await writeFile(join(layout.uploads, name), content);
    return appWith()(`/files/files_uploaded/${encodeURIComponent(name)}${query}`);
  };

  test('images and PDFs are inline; images sandboxed, PDFs not (browsers refuse sandboxed PDFs)', async () => {
    const png = await fetchAs('p.png', 'png');
    expect(png.headers.get('content-disposition')).toStartWith('inline;');
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('content-security-policy')).toStartWith('sandbox');
    const pdf = await fetchAs('d.pdf', '%PDF');
    expect(pdf.headers.get('content-disposition')).toStartWith('inline;');
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-security-policy')).toBeNull();
    expect(pdf.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('text is shown as plain text; HTML and SVG are never inline', async () => {
    const md = await fetchAs('n.md', '# hi');
    expect(md.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(md.headers.get('content-disposition')).toStartWith('inline;');
    for (const name of ['x.html', 'x.svg', 'x.xml', 'x.js', 'x.bin']) {
      const response = await fetchAs(name, '<script>alert(1)</script>');
      expect(response.headers.get('content-disposition')).toStartWith('attachment;');
      expect(response.headers.get('content-security-policy')).toStartWith('sandbox');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  test('without inline=1 everything is an attachment', async () => {
    expect((await fetchAs('p2.png', 'png', '')).headers.get('content-disposition')).toStartWith('attachment;');
  });
});

describe('export', () => {
  const sessions: ExportSession[] = [
    {
      session_id: 'algebra',
      title: 'Linear equations',
      messages: [
        { role: 'user', content: 'Solve 2x = 4', timestamp: '2026-01-01T10:00:00Z' },
        { role: 'assistant', content: 'x = 2' },
        { role: 'assistant', content: 'half', status: 'stopped' },
      ],
    },
  ];

  test('a zip of chats as Markdown, memory and the student’s files', async () => {
    await writeFile(layout.historyFile, '[2026-01-01] Algebra.');
    await mkdir(layout.notes);
    await writeFile(join(layout.notes, 'n.md'), 'note');
    const big = new Uint8Array(3 * MiB).map((_, i) => i % 251);
    const request = appWith({ sessions: async () => sessions });
    await request('/uploads', uploadBody([['photo.jpg', big], ['sum.md', '# Sum']]));
    const response = await request('/export');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="tutor-export.zip"');
    const files = unzipSync(new Uint8Array(await response.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual([
      'chats/algebra.md',
      'files/files_uploaded/photo.jpg',
      'files/files_uploaded/sum.md',
      'files/notes/n.md',
      'memory/HISTORY.md',
      'memory/MEMORY.md',
    ]);
    expect(strFromU8(files['chats/algebra.md']!)).toBe(sessionMarkdown(sessions[0]!));
    expect(strFromU8(files['chats/algebra.md']!)).toContain('## Student · 2026-01-01T10:00:00Z\n\nSolve 2x = 4');
    expect(strFromU8(files['chats/algebra.md']!)).toContain('_(stopped)_');
    expect(strFromU8(files['memory/HISTORY.md']!)).toBe('[2026-01-01] Algebra.');
    expect(Buffer.from(files['files/files_uploaded/photo.jpg']!).equals(Buffer.from(big))).toBe(true);
  });

  test('a workspace without notes/ or history still exports', async () => {
    const files = unzipSync(new Uint8Array(await (await appWith()('/export')).arrayBuffer()));
    expect(Object.keys(files)).toEqual(['memory/MEMORY.md']);
  });
});
