/**
 * The admin page's system view, behind ADMIN_TOKEN like the rest of `/admin`: `GET /health`
 * (engine reachable, agent image present, disk free under DATA_DIR) and
 * `GET /users/:userId/files` (a student's workspace as the gateway sees it on disk, so it works
 * for a stopped tutor too and starts nothing). Names, sizes and times only: no contents.
 */
import { Hono } from 'hono';
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import type { AgentInspector } from '../runtime/types.ts';
import type { AdminSettings } from '../settings.ts';
import { userIdOf } from './api.ts';

/** Enough for any student's workspace; a listing past it says `truncated`. */
const MAX_FILES = 1_000;
const MAX_DEPTH = 8;

export type WorkspaceFile = { path: string; bytes: number; modifiedAt: string };

/** Regular files under `root`, depth-first in name order; links are not followed (a student's link may point anywhere). */
export async function listWorkspace(root: string): Promise<{ files: WorkspaceFile[]; truncated: boolean }> {
  const files: WorkspaceFile[] = [];
  let truncated = false;
  async function walk(dir: string, prefix: string, depth: number): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (files.length >= MAX_FILES) {
        truncated = true;
        return;
      }
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory() && depth < MAX_DEPTH) await walk(join(dir, entry.name), path, depth + 1);
      else if (entry.isFile()) {
        const info = await lstat(join(dir, entry.name)).catch(() => undefined);
        if (info) files.push({ path, bytes: info.size, modifiedAt: info.mtime.toISOString() });
      }
    }
  }
  await walk(root, '', 0);
  return { files, truncated };
}

export function systemAdminApi({ settings, inspector }: { settings: AdminSettings; inspector: AgentInspector }) {
  const api = new Hono<Env>();

  api.get('/health', async (c) => {
    const engine = await inspector.engine();
    const disk = await statfs(settings.dataDir).then(
      (s) => ({ freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize }),
      () => null,
    );
    return c.json({ engine, disk: disk && { path: 'data/', ...disk } });
  });

  api.get('/users/:userId/files', async (c) => {
    const userId = userIdOf(c);
    const folder = join(settings.dataDir, userId);
    if (!(await lstat(folder).then((s) => s.isDirectory(), () => false))) {
      throw new GatewayError(404, 'unknown_user', `No data folder belongs to ${userId}.`);
    }
    return c.json({ userId, ...(await listWorkspace(join(folder, 'workspace'))) });
  });

  return api;
}
