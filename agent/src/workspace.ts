/** nanobot's on-disk layout under its home folder, paths confined to the workspace, and atomic writes. */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

export type Layout = {
  home: string;
  workspace: string;
  sessions: string;
  uploads: string;
  /** Notes the student keeps; like uploads, the student may delete and rename them. Not created by the agent. */
  notes: string;
  memoryDir: string;
  memoryFile: string;
  historyFile: string;
  configFile: string;
};

export function layoutOf(home: string): Layout {
  const workspace = join(home, 'workspace');
  const memoryDir = join(workspace, 'memory');
  return {
    home,
    workspace,
    sessions: join(home, 'sessions'),
    uploads: join(workspace, 'files_uploaded'),
    notes: join(workspace, 'notes'),
    memoryDir,
    memoryFile: join(memoryDir, 'MEMORY.md'),
    historyFile: join(memoryDir, 'HISTORY.md'),
    configFile: join(home, 'config.json'),
  };
}

const TEMPLATES_DIR = join(import.meta.dir, 'templates');
const TEMPLATES: Array<[source: string, target: string]> = [
  ['AGENTS.md', 'AGENTS.md'],
  ['SOUL.md', 'SOUL.md'],
  ['USER.md', 'USER.md'],
  ['MEMORY.md', join('memory', 'MEMORY.md')],
];

/** Creates the folders and copies the tutor templates, never overwriting what a user already has. */
export async function seedWorkspace(layout: Layout): Promise<void> {
  try {
    await Promise.all([mkdir(layout.memoryDir, { recursive: true }), mkdir(layout.uploads, { recursive: true }), mkdir(layout.sessions, { recursive: true })]);
  } catch (error) {
    // The image runs as uid 1000: a data folder created by root (older gateways) must be handed over first.
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    const uid = process.getuid?.() ?? 'this user';
    throw new Error(`cannot write ${layout.home} as uid ${uid}: give the folder to that user (chown -R ${uid}:${uid} <folder>)`);
  }
  await removeStaleTempFiles([layout.uploads, layout.sessions, layout.memoryDir]);
  for (const [source, target] of TEMPLATES) {
    try {
      // COPYFILE_EXCL: an existing file stays as it is.
      await copyFile(join(TEMPLATES_DIR, source), join(layout.workspace, target), 1);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

const TEMP_SUFFIX = '.tmp';

export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/** Temporary files left by a crash mid-write are never part of anything; clear them at start-up. */
async function removeStaleTempFiles(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const names = await readdir(dir);
    await Promise.all(names.filter(isTempFile).map((name) => rm(join(dir, name), { force: true })));
  }
}

/** A hidden sibling name of fixed length, so a target whose name is already 255 bytes still gets one. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${randomUUID()}${TEMP_SUFFIX}`);
}

/** Writes to a temporary file and renames it over the target, so readers and crashes never see half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export class OutsideWorkspaceError extends Error {
  constructor(path: string) {
    super(`path is outside the workspace: ${path}`);
  }
}

/** A path the file system could never take: a NUL byte, a name over 255 bytes, or over 4096 bytes in all. */
export class InvalidPathError extends Error {
  constructor(
    readonly code: 'invalid_path' | 'name_too_long' | 'path_too_long',
    message: string,
  ) {
    super(message);
  }
}

/** Linux's limits (NAME_MAX, PATH_MAX), checked before any system call so a hostile path is a clear error, not ENAMETOOLONG. */
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

export function checkPath(path: string): void {
  if (path.includes('\0')) throw new InvalidPathError('invalid_path', 'invalid path: it contains a NUL byte');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new InvalidPathError('path_too_long', `path too long: at most ${MAX_PATH_BYTES} bytes`);
  if (path.split('/').some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) {
    throw new InvalidPathError('name_too_long', `name too long: at most ${MAX_NAME_BYTES} bytes between slashes`);
  }
}

export function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Resolves a workspace-relative path, refusing anything that leaves the workspace, by `..`, an absolute
 * path or a symbolic link. The target need not exist yet; its nearest existing ancestor is checked.
 */
export async function resolveInWorkspace(workspace: string, path: string): Promise<string> {
  checkPath(path);
  const root = await realpath(workspace);
  const target = resolve(root, path.replace(/^\/+/, ''));
  if (!inside(root, target)) throw new OutsideWorkspaceError(path);
  // The workspace's own path counts towards PATH_MAX too.
  checkPath(target);
  let existing = target;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!inside(root, real)) throw new OutsideWorkspaceError(path);
      return target;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      existing = dirname(existing);
    }
  }
}

/**
 * Every regular file under `dir` with its full path, walking folders itself: Bun's recursive readdir follows
 * symbolic links to folders, which would list (and let the export read) files outside the workspace, or loop.
 */
export async function walkFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const pending = [dir];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isFile()) found.push(path);
    }
  }
  return found;
}

/** Every file in the workspace, workspace-relative with `/` separators, sorted; temporary files and links left out. */
export async function listWorkspaceFiles(workspace: string, under = ''): Promise<string[]> {
  const root = await realpath(workspace);
  const start = await resolveInWorkspace(root, under);
  return (await walkFiles(start))
    .filter((path) => !isTempFile(basename(path)))
    .map((path) => relative(root, path).split(sep).join('/'))
    .sort();
}
