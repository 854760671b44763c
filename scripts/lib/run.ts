/** Small helpers for the setup and CI scripts: run a command and see how it went. */
export type RunResult = { code: number; stdout: string; stderr: string };

/** Runs a command to completion, capturing its output. Never throws for a non-zero exit. */
export async function capture(cmd: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  // The environment as it is now: Bun hands children the one of the start otherwise, and setup sets DOCKER_HOST.
  const child = Bun.spawn(cmd, { cwd: options.cwd, env: process.env, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' });
  const timer = options.timeoutMs ? setTimeout(() => child.kill(), options.timeoutMs) : undefined;
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs a command with its output shown, and throws with the command line if it fails. */
export async function run(cmd: string[], options: { cwd?: string; stdin?: Blob } = {}): Promise<void> {
  const child = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: process.env,
    stdout: 'inherit',
    stderr: 'inherit',
    stdin: options.stdin ?? 'ignore',
  });
  const code = await child.exited;
  if (code !== 0) throw new Error(`\`${cmd.join(' ')}\` exited with ${code}`);
}

export async function imageExists(image: string): Promise<boolean> {
  return (await capture(['docker', 'image', 'inspect', image])).code === 0;
}
