/**
 * A deleted student's folder is moved, never unlinked: `<DATA_DIR>/.deleted/<userId>-<time>/`, so
 * an operator can move it back after a mistake. Folders older than DELETED_RETENTION are purged.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../log.ts';

export const DELETED_DIR = '.deleted';

/** `20261125T154501123Z`: sortable, and free of the colons some file systems refuse. */
const stamp = (at: Date): string => at.toISOString().replace(/[-:.]/g, '');
const STAMP = /-(\d{8}T\d{9}Z)$/;

function timeOfStamp(name: string): number | undefined {
  const match = STAMP.exec(name)?.[1];
  if (!match) return undefined;
  const iso = `${match.slice(0, 4)}-${match.slice(4, 6)}-${match.slice(6, 8)}T${match.slice(9, 11)}:${match.slice(11, 13)}:${match.slice(13, 15)}.${match.slice(15, 18)}Z`;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? undefined : time;
}

/** Moves the user's folder aside; undefined when there was none. A rename within DATA_DIR is atomic. */
export async function moveToDeleted(dataDir: string, userId: string, at = new Date()): Promise<string | undefined> {
  const from = join(dataDir, userId);
  try {
    await stat(from);
  } catch {
    return undefined;
  }
  const area = join(dataDir, DELETED_DIR);
  await mkdir(area, { recursive: true, mode: 0o700 });
  const to = join(area, `${userId}-${stamp(at)}`);
  await rename(from, to);
  return to;
}

/** Removes the moved folders older than `retentionMs` (0 keeps them all); folders it did not name are left alone. */
export async function purgeDeleted(dataDir: string, retentionMs: number, log: Log, now = Date.now()): Promise<number> {
  if (retentionMs <= 0) return 0;
  const area = join(dataDir, DELETED_DIR);
  let names: string[];
  try {
    names = await readdir(area);
  } catch {
    return 0;
  }
  let purged = 0;
  for (const name of names) {
    const movedAt = timeOfStamp(name);
    if (movedAt === undefined || now - movedAt < retentionMs) continue;
    await rm(join(area, name), { recursive: true, force: true });
    log({ level: 'info', msg: 'purged a deleted student’s folder', folder: name });
    purged += 1;
  }
  return purged;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1_000;

/** Purges now and every hour; the returned function stops it. */
export function purgeDeletedEvery(dataDir: string, retentionMs: number, log: Log): () => void {
  const run = () =>
    void purgeDeleted(dataDir, retentionMs, log).catch((err: unknown) => log({ level: 'warn', msg: 'purging deleted folders failed', error: String(err) }));
  run();
  const timer = setInterval(run, PURGE_INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
