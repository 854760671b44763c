/** What `bun run setup` says when a prerequisite is missing: before it writes or builds anything. */
import { describe, expect, test } from 'bun:test';
import { REPO_ROOT } from '../scripts/lib/images.ts';
import { capture } from '../scripts/lib/run.ts';

const setupWithoutDocker = () =>
  capture(['env', 'DOCKER_HOST=unix:///nonexistent/docker.sock', 'bun', 'scripts/setup.ts'], { cwd: REPO_ROOT });
const configurationState = async () =>
  (await capture(['git', 'status', '--porcelain', '--ignored', '.env', 'config.json'], { cwd: REPO_ROOT })).stdout;

describe('setup without a reachable Docker Engine', () => {
  test('stops with a sentence that says what is missing and how to fix it, and writes nothing', async () => {
    const before = await configurationState();
    const result = await setupWithoutDocker();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The Docker Engine is not reachable');
    expect(result.stderr).toContain('DOCKER_HOST');
    expect(result.stderr).not.toContain('    at ');
    expect(await configurationState()).toBe(before);
  }, 60_000);
});

describe('setup --no-build', () => {
  test('refuses --agent-context, which it would ignore, before it writes anything', async () => {
    const before = await configurationState();
    const result = await capture(['bun', 'scripts/setup.ts', '--no-build', '--agent-context', '../nanobot'], { cwd: REPO_ROOT });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--no-build builds nothing, so --agent-context has nothing to do');
    expect(await configurationState()).toBe(before);
  }, 30_000);
});
