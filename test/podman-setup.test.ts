/** `setup --engine podman` refuses, with the fix in the sentence, what cannot run rootless. */
import { describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../scripts/lib/images.ts';
import { checkPodman, podmanSocket } from '../scripts/lib/podman.ts';
import { capture } from '../scripts/lib/run.ts';

const configurationState = async () =>
  (await capture(['git', 'status', '--porcelain', '--ignored', '.env', 'config.json'], { cwd: REPO_ROOT })).stdout;

describe('setup --engine podman', () => {
  test('root is sent to the unprivileged user, since the point is a stack without root', async () => {
    const check = await checkPodman({ uid: 0, runtimeDir: '/run/user/1000' });
    expect(check).toEqual({ ok: false, problem: expect.stringContaining('not as root') });
  });

  test('a user whose Podman service is not running is told how to start it', async () => {
    const runtimeDir = await mkdtemp(join(tmpdir(), 'nbtest-podman-run-'));
    try {
      const check = await checkPodman({ uid: 12_345, runtimeDir });
      expect(check.ok).toBe(false);
      const problem = check.ok ? '' : check.problem;
      expect(problem).toContain(`does not answer on ${podmanSocket(runtimeDir)}`);
      expect(problem).toContain('systemctl --user enable --now podman.socket');
    } finally {
      await rm(runtimeDir, { recursive: true, force: true });
    }
  });

  test('commands see the DOCKER_HOST setup chose while it runs, not the one it started with', async () => {
    process.env.NBTEST_ENGINE_PROBE = 'podman';
    try {
      expect((await capture(['sh', '-c', 'echo "$NBTEST_ENGINE_PROBE"'])).stdout.trim()).toBe('podman');
    } finally {
      delete process.env.NBTEST_ENGINE_PROBE;
    }
  });

  test('an unknown engine stops setup before it writes anything', async () => {
    const before = await configurationState();
    const result = await capture(['bun', 'scripts/setup.ts', '--engine', 'kubernetes'], { cwd: REPO_ROOT });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--engine must be docker or podman, not kubernetes');
    expect(await configurationState()).toBe(before);
  }, 30_000);
});
