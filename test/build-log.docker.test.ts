/** setup's quiet builds: the whole output goes to the log file, and a failure shows its end and names the file. */
import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, REPO_ROOT } from '../scripts/lib/images.ts';
import { capture } from '../scripts/lib/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'nbtest-build-log-'));
const tag = `nbtest-build-log-${crypto.randomUUID().slice(0, 8)}`;
afterAll(async () => {
  await capture(['docker', 'image', 'rm', '-f', tag]);
  rmSync(dir, { recursive: true, force: true });
});

test('a build writes its output to the log, and a failed one says where the log is', async () => {
  const logFile = join(dir, 'build.log');
  const fixtures = join(REPO_ROOT, 'gateway/test/fixtures');
  await buildImage({ dockerfile: 'gateway/test/fixtures/Dockerfile', context: fixtures, tag, logFile });
  const log = readFileSync(logFile, 'utf8');
  expect(log).toContain(`$ docker build -f ${join(REPO_ROOT, 'gateway/test/fixtures/Dockerfile')}`);
  expect(log).toContain('agent.ts');

  // An empty context has no agent.ts to copy.
  const empty = mkdtempSync(join(dir, 'empty-'));
  const failed = await buildImage({ dockerfile: 'gateway/test/fixtures/Dockerfile', context: empty, tag, logFile }).then(() => undefined, (err: Error) => err);
  expect(failed?.message).toContain(`The whole build log: ${logFile}`);
  expect(readFileSync(logFile, 'utf8').length).toBeGreaterThan(log.length);
}, 300_000);
