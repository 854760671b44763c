/**
 * Uploads: a batch is validated whole and checked against the student's quota, then each file is written
 * under a temporary name and linked to a free final name. A batch is saved whole or not at all.
 */
import { link, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { KeyedQueue } from './queue.ts';
import { MAX_NAME_BYTES, tempPathFor, walkFiles } from './workspace.ts';

export const MAX_FILE_BYTES = 5 * 1024 * 1024;
/** Longer client names are refused before any work is done on them; every kept name is cut to 255 UTF-8 bytes anyway. */
const MAX_CLIENT_NAME_LENGTH = 4096;
/** A longer "extension" is no extension: it is cut with the rest of the name. */
const MAX_EXTENSION_BYTES = 32;

export const uploadSchema = z.object({
  files: z
    .array(z.object({ name: z.string().max(MAX_CLIENT_NAME_LENGTH), content_base64: z.string() }))
    .min(1, 'files must list at least one file'),
});
export type UploadFile = z.infer<typeof uploadSchema>['files'][number];

export type Quota = { bytes: number; files: number };
export const DEFAULT_QUOTA: Quota = { bytes: 1024 ** 3, files: 1000 };

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new Error(`${name} must be a whole number of at least 0, not ${value}`);
  return number;
}

/** `NANOBOT_QUOTA_BYTES` and `NANOBOT_QUOTA_FILES`; a value that is not a whole number stops the agent at start-up. */
export function quotaFromEnv(env: Record<string, string | undefined>): Quota {
  return {
    bytes: positiveInteger('NANOBOT_QUOTA_BYTES', env.NANOBOT_QUOTA_BYTES, DEFAULT_QUOTA.bytes),
    files: positiveInteger('NANOBOT_QUOTA_FILES', env.NANOBOT_QUOTA_FILES, DEFAULT_QUOTA.files),
  };
}

export type UploadErrorCode = 'invalid_base64' | 'too_large' | 'quota_exceeded' | 'disk_full';

export class UploadError extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: UploadErrorCode,
    message: string,
    readonly details: Record<string, number> = {},
  ) {
    super(message);
  }
}

const bytesOf = (text: string) => Buffer.byteLength(text);
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The longest start of `text` of at most `maxBytes` UTF-8 bytes that ends on a character (grapheme) boundary. */
function cutToBytes(text: string, maxBytes: number): string {
  if (bytesOf(text) <= maxBytes) return text;
  let kept = '';
  let size = 0;
  for (const { segment } of segmenter.segment(text)) {
    const next = bytesOf(segment);
    if (size + next > maxBytes) break;
    kept += segment;
    size += next;
  }
  return kept;
}

/** `stem + suffix + extension` cut to 255 bytes by shortening the stem, so the extension and the suffix survive. */
function fitName(name: string, suffix = ''): string {
  let ext = extname(name);
  if (bytesOf(ext) > MAX_EXTENSION_BYTES) ext = '';
  const stem = name.slice(0, name.length - ext.length);
  const room = MAX_NAME_BYTES - bytesOf(suffix) - bytesOf(ext);
  return `${cutToBytes(stem, room).trimEnd()}${suffix}${ext}`;
}

/**
 * Reduces a client's file name to a safe basename: no folders, no control or shell characters, no leading
 * dot, at most 255 UTF-8 bytes (the file system's limit), cut on a character boundary, extension kept.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}\p{M}._ -]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  return fitName(clean) || 'file';
}

/** `name_<n>.ext`, still within 255 bytes. */
export function withSuffix(name: string, n: number): string {
  return n === 0 ? name : fitName(name, `_${n}`);
}

const isBase64Char = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 /* + */ || c === 47; /* / */

/** Strict padded base64, checked in one pass (a regular expression over megabytes can exhaust the engine's stack). */
function isBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  for (let i = 0; i < text.length - padding; i++) if (!isBase64Char(text.charCodeAt(i))) return false;
  return true;
}

type Prepared = { name: string; bytes: Buffer };

const shown = (name: string) => (name.length > 80 ? `${name.slice(0, 79)}…` : name);

function prepare(files: UploadFile[]): Prepared[] {
  return files.map((file) => {
    const content = file.content_base64.replace(/\s+/g, '');
    // Decoded size is known from the length, so an oversized file is refused before it is checked or decoded.
    const size = Math.floor((content.length * 3) / 4) - (content.endsWith('==') ? 2 : content.endsWith('=') ? 1 : 0);
    if (size > MAX_FILE_BYTES) throw new UploadError(413, 'too_large', `file too large: ${shown(file.name)} (max 5MB per file)`);
    if (!isBase64(content)) throw new UploadError(400, 'invalid_base64', `invalid base64 content: ${shown(file.name)}`);
    return { name: safeFileName(file.name), bytes: Buffer.from(content, 'base64') };
  });
}

/** What the student already keeps: bytes and files under the counted folders (a missing folder counts as empty). */
export async function usageOf(dirs: string[]): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const dir of dirs) {
    const paths = await walkFiles(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const path of paths) {
      const info = await stat(path).catch(() => undefined);
      if (!info) continue;
      bytes += info.size;
      files += 1;
    }
  }
  return { bytes, files };
}

const megabytes = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/** Bytes an unprivileged writer may still use on the file system holding `dir`; 0 when that cannot be read. */
async function freeBytes(dir: string): Promise<number> {
  const info = await statfs(dir).catch(() => undefined);
  return info ? info.bavail * info.bsize : 0;
}

/** Writes a new file; fails if it exists. Replaceable in tests to simulate a full disk. */
export type FileWriter = (path: string, bytes: Uint8Array) => Promise<void>;
const writeNewFile: FileWriter = (path, bytes) => writeFile(path, bytes, { flag: 'wx' });

export type UploadsOptions = {
  /** files_uploaded/, where uploads go. */
  dir: string;
  /** The folders the quota covers (files_uploaded/ and notes/). */
  counted: string[];
  quota: Quota;
  write?: FileWriter;
};

export class Uploads {
  readonly #queue = new KeyedQueue();
  readonly #write: FileWriter;

  constructor(private readonly options: UploadsOptions) {
    this.#write = options.write ?? writeNewFile;
  }

  /**
   * Saves the batch and returns the names given. Batches run one at a time, so two cannot both pass the
   * quota check; on any failure the files of this batch are removed again.
   */
  save(files: UploadFile[]): Promise<string[]> {
    const prepared = prepare(files);
    return this.inTurn(async () => {
      await this.#checkQuota(prepared.reduce((sum, file) => sum + file.bytes.length, 0), prepared.length);
      return this.#writeAll(prepared);
    });
  }

  /** Runs `task` in turn with upload batches, so a note the model writes and a batch cannot both pass the quota. */
  inTurn<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run('uploads', task);
  }

  /** Refuses (quota_exceeded) writing `bytes` to `path` in a counted folder, over what is there; call it in the turn. */
  async checkWrite(path: string, bytes: number): Promise<void> {
    const existing = await stat(path).catch(() => undefined);
    const replaced = existing?.isFile() ? existing.size : undefined;
    await this.#checkQuota(bytes - (replaced ?? 0), replaced === undefined ? 1 : 0);
  }

  async #checkQuota(adding: number, addingFiles: number): Promise<void> {
    const { quota, counted } = this.options;
    const used = await usageOf(counted);
    const remaining_bytes = Math.max(0, quota.bytes - used.bytes);
    const remaining_files = Math.max(0, quota.files - used.files);
    if (adding > remaining_bytes || addingFiles > remaining_files) {
      const left = `${megabytes(remaining_bytes)} MB and ${remaining_files} file${remaining_files === 1 ? '' : 's'} left`;
      throw new UploadError(413, 'quota_exceeded', `upload quota exceeded: ${left}`, { remaining_bytes, remaining_files });
    }
  }

  async #writeAll(prepared: Prepared[]): Promise<string[]> {
    const { dir } = this.options;
    // Names known to be taken, read once per batch: claiming the 1,000th copy of a name tries one name, not 1,000.
    const taken = new Set(await readdir(dir));
    const nextSuffix = new Map<string, number>();
    const saved: string[] = [];
    try {
      for (const { name, bytes } of prepared) {
        const temp = tempPathFor(join(dir, name));
        try {
          await this.#write(temp, bytes);
          const claimed = await claimName(dir, temp, name, taken, nextSuffix.get(name) ?? 0);
          nextSuffix.set(name, claimed.n + 1);
          taken.add(claimed.name);
          saved.push(claimed.name);
        } finally {
          await rm(temp, { force: true });
        }
      }
    } catch (error) {
      // Only names this batch claimed itself are removed, never another batch's file.
      await Promise.all(saved.map((name) => rm(join(dir, name), { force: true })));
      if (DISK_FULL.has((error as NodeJS.ErrnoException).code ?? '')) {
        // Measured after the batch's files are gone again: what the student could still upload.
        const remaining_bytes = await freeBytes(dir);
        throw new UploadError(413, 'disk_full', `not enough disk space: ${megabytes(remaining_bytes)} MB left; nothing of this upload was saved`, { remaining_bytes });
      }
      throw error;
    }
    return saved;
  }
}

/**
 * Gives the written temporary file its final name: the first of `name`, `name_1`, … from `start` on that is
 * free. `link` fails with EEXIST instead of replacing a file, so a name taken meanwhile by someone else (the
 * model's write_file) is never overwritten: the loser moves on to the next suffix.
 */
async function claimName(dir: string, temp: string, name: string, taken: Set<string>, start: number): Promise<{ name: string; n: number }> {
  for (let n = start; ; n++) {
    const candidate = withSuffix(name, n);
    if (taken.has(candidate)) continue;
    try {
      await link(temp, join(dir, candidate));
      return { name: candidate, n };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
