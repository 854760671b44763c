/** Uploads: a batch is validated whole, then each file is written under a temporary name and linked to a free final name. */
import { link, rm, writeFile } from 'node:fs/promises';
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

function prepare(files: z.infer<typeof uploadSchema>['files']): Prepared[] {
  return files.map((file) => {
    const content = file.content_base64.replace(/\s+/g, '');
    if (!BASE64.test(content)) throw new UploadError(400, `invalid base64 content: ${file.name}`);
    // Decoded size is known from the length, so an oversized file is refused before it is decoded.
    const size = (content.length / 4) * 3 - (content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0);
    if (size > MAX_FILE_BYTES) throw new UploadError(413, `file too large: ${file.name} (max 5MB per file)`);
    return { name: safeFileName(file.name), bytes: Buffer.from(content, 'base64') };
  });
}

/**
 * Gives the written temporary file its final name: the first of `name`, `name_1`, … that is free.
 * `link` fails with EEXIST instead of replacing a file, so two batches racing for a name can never
 * overwrite each other: the loser moves on to the next suffix.
 */
async function claimName(dir: string, temp: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : withSuffix(name, n);
    try {
      await link(temp, join(dir, candidate));
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Saves the batch into `dir` and returns the names given; on any failure the files of this batch are removed again. */
export async function saveUploads(dir: string, files: z.infer<typeof uploadSchema>['files']): Promise<string[]> {
  const prepared = prepare(files);
  const saved: string[] = [];
  try {
    for (const { name, bytes } of prepared) {
      const temp = tempPathFor(join(dir, name));
      try {
        await writeFile(temp, bytes, { flag: 'wx' });
        saved.push(await claimName(dir, temp, name));
      } finally {
        await rm(temp, { force: true });
      }
    }
  } catch (error) {
    // Only names this batch claimed itself are removed, never another batch's file.
    await Promise.all(saved.map((name) => rm(join(dir, name), { force: true })));
    throw error;
  }
  return saved;
}
