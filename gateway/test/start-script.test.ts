/** gateway/start.sh, which the image and the test harness start the gateway with. */
import { expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(import.meta.dir, '..', '..');
/** What the gateway would see: bun's `-e` runs instead of the gateway, with the same environment. */
const PRINT_SWITCH = ['-e', "console.log(process.env.BUN_JSC_useWarmUpMarkedBlocks ?? 'unset')"];

async function run(env: Record<string, string | undefined>) {
  const child = Bun.spawn(['sh', 'gateway/start.sh', ...PRINT_SWITCH], { cwd: REPO_ROOT, env, stdout: 'pipe', stderr: 'pipe' });
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return { out: out.trim(), code };
}

test('the gateway runs with JavaScriptCore\'s block warm-up off when its Bun accepts the switch', async () => {
  expect(await run({ ...process.env, BUN_JSC_useWarmUpMarkedBlocks: undefined })).toEqual({ out: 'false', code: 0 });
});

test('a Bun that no longer knows the switch starts the gateway without it, instead of refusing to start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-start-'));
  try {
    // Bun's own answer to a JSC option it does not know: an error and exit code 1.
    writeFileSync(join(dir, 'bun'), `#!/bin/sh\nif [ -n "$BUN_JSC_useWarmUpMarkedBlocks" ]; then echo 'error: invalid JSC environment variable' >&2; exit 1; fi\nexec "${process.execPath}" "$@"\n`);
    chmodSync(join(dir, 'bun'), 0o755);
    expect(await run({ ...process.env, BUN_JSC_useWarmUpMarkedBlocks: undefined, PATH: `${dir}:${process.env.PATH}` })).toEqual({ out: 'unset', code: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a value the operator set is kept', async () => {
  expect(await run({ ...process.env, BUN_JSC_useWarmUpMarkedBlocks: 'true' })).toEqual({ out: 'true', code: 0 });
});
