/**
 * The workspace over HTTP: uploads, listing, download and preview, delete and rename of the student's own
 * files, and the export of everything as a zip. Every error is `{error, code}` with a 4xx (or 507) status.
 */
import { link, lstat, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { errorBody } from './errors.ts';
import { exportZip, type ExportSession } from './export.ts';
import { quotaFromEnv, safeFileName, UploadError, Uploads, uploadSchema, type FileWriter, type Quota } from './uploads.ts';
import {
  InvalidPathError,
  isTempFile,
  listWorkspaceFiles,
  OutsideWorkspaceError,
  resolveInWorkspace,
  type Layout,
} from './workspace.ts';

type Env = { Variables: { userId: string } };

export type FilesRoutesOptions = {
  layout: Layout;
  /** The user's sessions, for the export. */
  sessions: (userId: string) => Promise<ExportSession[]>;
  /** Defaults to `NANOBOT_QUOTA_BYTES` / `NANOBOT_QUOTA_FILES` from the environment. */
  quota?: Quota;
  /** Replaces the upload writer in tests (a full disk). */
  write?: FileWriter;
  /** The agent's uploads, shared with the tool that writes notes; made from `quota` and `write` when absent. */
  uploads?: Uploads;
};

/** A refusal with its status, machine code and any extra fields for the body. */
class FilesError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const fail = (status: ContentfulStatusCode, code: string, message: string): never => {
  throw new FilesError(status, code, message);
};

/** File-system failures a hostile or unlucky request can cause, as the client's error rather than a 500. */
const ERRNO: Record<string, [ContentfulStatusCode, string, string]> = {
  ENOENT: [404, 'not_found', 'file not found'],
  ENOTDIR: [404, 'not_found', 'file not found'],
  EISDIR: [404, 'not_found', 'file not found'],
  ENAMETOOLONG: [400, 'path_too_long', 'path too long'],
  EINVAL: [400, 'invalid_path', 'invalid path'],
  ELOOP: [400, 'invalid_path', 'invalid path: too many symbolic links'],
  EACCES: [403, 'forbidden', 'access denied'],
  EPERM: [403, 'forbidden', 'access denied'],
  ENOSPC: [507, 'disk_full', 'not enough disk space'],
  EDQUOT: [507, 'disk_full', 'not enough disk space'],
};

function errorResponse(error: Error, c: Context): Response {
  if (error instanceof FilesError) return c.json({ error: error.message, code: error.code, ...error.details }, error.status);
  if (error instanceof UploadError) return c.json({ error: error.message, code: error.code, ...error.details }, error.status);
  if (error instanceof InvalidPathError) return c.json({ error: error.message, code: error.code }, 400);
  if (error instanceof OutsideWorkspaceError) return c.json({ error: 'access denied: the path is outside the workspace', code: 'forbidden_path' }, 403);
  const known = ERRNO[(error as NodeJS.ErrnoException).code ?? ''];
  if (known) return c.json({ error: known[2], code: known[1] }, known[0]);
  const { status, body } = errorBody(error);
  return c.json(body, status);
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return fail(400, 'invalid_json', 'invalid JSON');
  }
}

/** The workspace-relative path after `/files/`, percent-decoded once from the raw URL (no double decoding). */
function pathParameter(c: Context): string {
  const pathname = new URL(c.req.url).pathname;
  // Hono's `/files/*` also matches `/files` itself, which only lists.
  if (!pathname.startsWith('/files/')) return fail(405, 'method_not_allowed', 'method not allowed');
  const raw = pathname.slice('/files/'.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return fail(400, 'invalid_path', 'invalid file path: bad percent-encoding');
  }
}

/** Content types a browser may show inline without running anything the file carries. */
const INLINE_TEXT = /^(text\/(plain|markdown|csv|x-python|x-c|x-java)|application\/json)\b/;
const INLINE_AS_IS = /^(image\/(png|jpeg|gif|webp|avif|bmp)|audio\/|video\/|application\/pdf)/;

function downloadHeaders(name: string, type: string, size: number, inline: boolean): Record<string, string> {
  const asText = inline && INLINE_TEXT.test(type);
  const shown = inline && (asText || INLINE_AS_IS.test(type));
  const headers: Record<string, string> = {
    'Content-Type': asText ? 'text/plain; charset=utf-8' : type,
    'Content-Disposition': `${shown ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(name)}`,
    'Content-Length': String(size),
    'X-Content-Type-Options': 'nosniff',
  };
  // A sandboxed document cannot run script or reach the agent's origin; browsers refuse to show PDFs sandboxed, and PDFs run no page script.
  if (type !== 'application/pdf' || !shown) headers['Content-Security-Policy'] = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'";
  return headers;
}

const renameSchema = z.object({ name: z.string().trim().min(1).max(4096) });

export function filesRoutes({ layout, sessions, quota, write, uploads: shared }: FilesRoutesOptions): Hono<Env> {
  const app = new Hono<Env>();
  const uploads = shared ?? new Uploads({ dir: layout.uploads, counted: [layout.uploads, layout.notes], quota: quota ?? quotaFromEnv(process.env), write });

  /** A regular workspace file the student asked for, or 404. */
  async function existingFile(relativePath: string): Promise<{ path: string; size: number }> {
    const path = await resolveInWorkspace(layout.workspace, relativePath);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile() || isTempFile(basename(path))) return fail(404, 'not_found', 'file not found');
    return { path, size: info.size };
  }

  /** Only the student's own files, under files_uploaded/ or notes/, may be deleted or renamed. */
  async function ownFile(relativePath: string): Promise<{ path: string; root: string }> {
    const { path } = await existingFile(relativePath);
    const root = await realpath(layout.workspace);
    // The real parent folder decides, so a notes/ that is a link to memory/ does not make memory changeable.
    const top = relative(root, await realpath(dirname(path))).split(sep)[0];
    if (top !== basename(layout.uploads) && top !== basename(layout.notes)) {
      return fail(403, 'forbidden_path', 'only files under files_uploaded/ and notes/ can be changed');
    }
    return { path, root };
  }

  app.post('/uploads', async (c) => {
    const parsed = uploadSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) return fail(400, 'invalid_body', 'expected {"files":[{"name","content_base64"}]}');
    const names = await uploads.save(parsed.data.files);
    return c.json({ saved_files: names.map((name) => `files_uploaded/${name}`) });
  });

  app.get('/files', async (c) => c.json({ files: await listWorkspaceFiles(layout.workspace) }));

  app.get('/files/*', async (c) => {
    const { path, size } = await existingFile(pathParameter(c));
    const file = Bun.file(path);
    const headers = downloadHeaders(basename(path), file.type || 'application/octet-stream', size, c.req.query('inline') === '1');
    return new Response(file, { headers });
  });

  app.delete('/files/*', async (c) => {
    const { path, root } = await ownFile(pathParameter(c));
    await rm(path);
    return c.json({ deleted: relative(root, path).split(sep).join('/') });
  });

  app.patch('/files/*', async (c) => {
    const { path, root } = await ownFile(pathParameter(c));
    const parsed = renameSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) return fail(400, 'invalid_body', 'expected {"name": "<new file name>"}');
    const target = join(dirname(path), safeFileName(parsed.data.name));
    if (target !== path) {
      // link refuses an existing name where rename would silently replace it.
      await link(path, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') fail(409, 'name_taken', `a file named ${basename(target)} already exists`);
        throw error;
      });
      await rm(path);
    }
    return c.json({ path: relative(root, target).split(sep).join('/') });
  });

  app.get('/export', async (c) => {
    const body = exportZip({ layout, sessions: await sessions(c.var.userId) });
    return new Response(body, {
      headers: { 'Content-Type': 'application/zip', 'Content-Disposition': 'attachment; filename="tutor-export.zip"' },
    });
  });

  for (const path of ['/uploads', '/files', '/files/*', '/export']) {
    app.all(path, () => fail(405, 'method_not_allowed', 'method not allowed'));
  }
  app.onError(errorResponse);
  return app;
}

