/**
 * Fault: one student's disk is full (a 2 MiB tmpfs mounted over their data folder). An upload larger
 * than what is left is refused 413 disk_full with the space left, and no partial file stays behind.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { capture } from '../../scripts/lib/run.ts';
import { eventually } from '../../test/support/eventually.ts';
import { identityFor } from '../src/identity.ts';
import { buildTutor, createTestBed, startTestGateway, TUTOR_IMAGE, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

const MiB = 1024 * 1024;
const run = crypto.randomUUID().slice(0, 8);
const student = `fulldisk.${run}@example.com`;
let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;
let mounted: string | undefined;

async function sh(...cmd: string[]): Promise<void> {
  const result = await capture(cmd);
  if (result.code !== 0) throw new Error(`${cmd.join(' ')} failed: ${result.stderr}`);
}

beforeAll(async () => {
  bed = await createTestBed();
  await buildTutor();
  gateway = await startTestGateway({ ...bed.env, AGENT_IMAGE: TUTOR_IMAGE, AGENT_MEMORY: '256m' });
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  // The container goes first, so nothing holds the mount; then the folder can be removed with the rest.
  for (const c of (await bed?.containers()) ?? []) await bed.docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  if (mounted) await capture(['umount', mounted]).then((r) => (r.code === 0 ? r : capture(['umount', '-l', mounted!])));
  await bed?.cleanup();
}, 60_000);

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

test('an upload onto a full disk is 413 disk_full with the space left, and leaves no partial file', async () => {
  const identity = identityFor(student, bed.instance);
  const call = (path: string, init: RequestInit = {}) => fetch(`${gateway.url}${path}`, { ...init, headers: authHeaders(student, { 'Content-Type': 'application/json' }) });
  expect((await call('/files')).status).toBe(200);

  // The agent's folder on a small file system of its own: stopped, mounted over, started by the next request.
  const folder = join(bed.dataDir, identity.id);
  const owner = await stat(folder);
  await bed.docker.getContainer(identity.containerName).stop();
  await eventually(() => expect(gateway.routes.get(identity.id)).toBeUndefined(), 30_000, 50);
  await sh('mount', '-t', 'tmpfs', '-o', `size=2m,mode=0700,uid=${owner.uid},gid=${owner.gid}`, 'tmpfs', folder);
  mounted = folder;
  expect((await call('/files')).status).toBe(200);
  const before = await filesUnder(folder);

  const big = Buffer.alloc(3 * MiB, 7).toString('base64');
  const res = await call('/uploads', { method: 'POST', body: JSON.stringify({ files: [{ name: 'big.bin', content_base64: big }] }) });
  expect(res.status).toBe(413);
  const body = (await res.json()) as { error: string; code: string; remaining_bytes: number };
  expect(body.code).toBe('disk_full');
  expect(body.remaining_bytes).toBeGreaterThan(0);
  expect(body.remaining_bytes).toBeLessThan(2 * MiB);
  expect(body.error).toContain('MB left');
  expect((await filesUnder(folder)).sort()).toEqual(before.sort());

  // What still fits is still accepted.
  const small = await call('/uploads', { method: 'POST', body: JSON.stringify({ files: [{ name: 'small.txt', content_base64: Buffer.from('fits').toString('base64') }] }) });
  expect(small.status).toBe(200);
}, 180_000);
