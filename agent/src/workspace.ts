/** nanobot's on-disk layout under its home folder, paths confined to the workspace, and atomic writes. */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

export type Layout = {
  home: string;
  workspace: string;
  sessions: string;
  uploads: string;
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
    memoryDir,
    memoryFile: join(memoryDir, 'MEMORY.md'),
    historyFile: join(memoryDir, 'HISTORY.md'),
    configFile: join(home, 'config.json'),
  };
}

/** Shared with the gateway, which seeds the same files (AGENT_TEMPLATE_DIR) for agent images that do not. */
const TEMPLATES_DIR = join(import.meta.dir, '..', 'templates');
/** Paths under the template folder, which mirrors `workspace/`. */
const TEMPLATES = ['AGENTS.md', 'SOUL.md', 'USER.md', join('memory', 'MEMORY.md')];

/** Creates the folders and copies the tutor templates, never overwriting what a user already has. */
export async function seedWorkspace(layout: Layout): Promise<void> {
  await Promise.all([mkdir(layout.memoryDir, { recursive: true }), mkdir(layout.uploads, { recursive: true }), mkdir(layout.sessions, { recursive: true })]);
  await removeStaleTempFiles([layout.uploads, layout.sessions, layout.memoryDir]);
  for (const path of TEMPLATES) {
    try {
      // COPYFILE_EXCL: an existing file stays as it is.
      await copyFile(join(TEMPLATES_DIR, path), join(layout.workspace, path), 1);
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

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}${TEMP_SUFFIX}`);
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

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/**
 * Resolves a workspace-relative path, refusing anything that leaves the workspace, by `..`, an absolute
 * path or a symbolic link. The target need not exist yet; its nearest existing ancestor is checked.
 */
export async function resolveInWorkspace(workspace: string, path: string): Promise<string> {
  const root = await realpath(workspace);
  const target = resolve(root, path.replace(/^\/+/, ''));
  if (!inside(root, target)) throw new OutsideWorkspaceError(path);
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

/** Every file in the workspace, workspace-relative with `/` separators, sorted; temporary files left out. */
export async function listWorkspaceFiles(workspace: string, under = ''): Promise<string[]> {
  const root = await realpath(workspace);
  const start = await resolveInWorkspace(root, under);
  const entries = await readdir(start, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && !isTempFile(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
