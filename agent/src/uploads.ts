/** Uploads: a batch is validated whole, then each file is written under a temporary name and renamed. */
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { tempPathFor } from './workspace.ts';

export const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_NAME_LENGTH = 120;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const uploadSchema = z.object({
  files: z.array(z.object({ name: z.string(), content_base64: z.string() })).min(1, 'files must list at least one file'),
});

export class UploadError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** Reduces a client's file name to a safe basename: no folders, no control or shell characters, no leading dot. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  let clean = base
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}._ -]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  if (clean.length > MAX_NAME_LENGTH) {
    const ext = extname(clean).slice(0, 16);
    clean = clean.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
  }
  return clean || 'file';
}

function withSuffix(name: string, n: number): string {
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}_${n}${ext}`;
}

type Prepared = { name: string; bytes: Buffer };

async function prepare(dir: string, files: z.infer<typeof uploadSchema>['files']): Promise<Prepared[]> {
  const taken = new Set(await readdir(dir));
  const prepared: Prepared[] = [];
  for (const file of files) {
    const content = file.content_base64.replace(/\s+/g, '');
    if (!BASE64.test(content)) throw new UploadError(400, `invalid base64 content: ${file.name}`);
    // Decoded size is known from the length, so an oversized file is refused before it is decoded.
    const size = (content.length / 4) * 3 - (content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0);
    if (size > MAX_FILE_BYTES) throw new UploadError(413, `file too large: ${file.name} (max 5MB per file)`);
    const safe = safeFileName(file.name);
    let name = safe;
    for (let n = 1; taken.has(name); n++) name = withSuffix(safe, n);
    taken.add(name);
    prepared.push({ name, bytes: Buffer.from(content, 'base64') });
  }
  return prepared;
}

/** Saves the batch into `dir`; on any failure the files of this batch are removed again. */
export async function saveUploads(dir: string, files: z.infer<typeof uploadSchema>['files']): Promise<string[]> {
  const prepared = await prepare(dir, files);
  const written: string[] = [];
  try {
    for (const { name, bytes } of prepared) {
      const target = join(dir, name);
      const temp = tempPathFor(target);
      try {
        await writeFile(temp, bytes, { flag: 'wx' });
        await rename(temp, target);
      } finally {
        await rm(temp, { force: true });
      }
      written.push(target);
    }
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw error;
  }
  return prepared.map(({ name }) => name);
}
