/** A user's data folder, made by the gateway before Docker could make the bind source itself (root-owned). */
import { chmod, chown, copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export type Owner = { uid: number; gid: number };

export type DataFolderOptions = Owner & {
  /** Copied into `workspace/` file by file, never over an existing file; empty: nothing is copied. */
  templateDir: string;
};

/** A named user's ids are in the image's /etc/passwd, which the gateway does not read; 1000 is the usual first user. */
const NAMED_USER_FALLBACK = 1000;

/**
 * Who the agent runs as, so its data folder can be its own. An agent runs without capabilities,
 * so even root in it cannot enter a 0700 folder of another user: the owner must be exact.
 * AGENT_UID/AGENT_GID win; else the image's USER: empty or `root` is 0, numeric `uid[:gid]` is used as it is.
 */
export function agentOwner(imageUser: string | undefined, configured: { uid: number | undefined; gid: number | undefined }): Owner {
  const [user = '', group] = (imageUser ?? '').split(':');
  const idOf = (name: string | undefined, fallback: number) =>
    name === undefined || name === '' ? fallback : name === 'root' ? 0 : /^\d+$/.test(name) ? Number(name) : NAMED_USER_FALLBACK;
  const uid = configured.uid ?? idOf(user, 0);
  return { uid, gid: configured.gid ?? idOf(group, configured.uid ?? uid) };
}

/** Only root may give a file away; a gateway run by an ordinary user leaves its own ownership. */
const canChown = () => process.getuid?.() === 0;

async function makeDir(path: string, mode?: number): Promise<boolean> {
  try {
    await mkdir(path, mode === undefined ? {} : { mode });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Copies the template tree into target, returning every folder and file it made. */
async function seed(templateDir: string, target: string): Promise<string[]> {
  const made: string[] = [];
  if (await makeDir(target)) made.push(target);
  for (const entry of await readdir(templateDir, { withFileTypes: true })) {
    const from = join(templateDir, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      made.push(...(await seed(from, to)));
    } else if (entry.isFile()) {
      try {
        // COPYFILE_EXCL: a file the student (or the agent) already has stays as it is.
        await copyFile(from, to, 1);
        made.push(to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }
  return made;
}

/**
 * Makes `folder` (mode 0700) with the templates in `workspace/`, all owned by the agent's user.
 * Only what this call creates changes owner: an existing student's files are left alone.
 */
export async function prepareDataFolder(folder: string, { templateDir, uid, gid }: DataFolderOptions): Promise<void> {
  const made: string[] = [];
  if (await makeDir(folder, 0o700)) {
    // mkdir's mode passes through the umask; the folder holds one student's data only.
    await chmod(folder, 0o700);
    made.push(folder);
  }
  if (templateDir) made.push(...(await seed(templateDir, join(folder, 'workspace'))));
  if (canChown()) for (const path of made) await chown(path, uid, gid);
}
