/** The real gateway as its own process (`sh gateway/start.sh`, as its image runs it), so its memory is its own. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/images.ts';
import { cpuSecondsOf, memoryOf, resetPeakMemory } from './proc.ts';

export type GatewayProcess = {
  url: string;
  pid: number;
  /** Docker Engine API requests the gateway has made so far (empty unless a callsFile was given). */
  dockerCalls(): string[];
  /** Current resident set size in bytes. */
  rss(): number;
  /** Peak resident set size in bytes since start or the last resetPeak(). */
  peakRss(): number;
  /** Restarts the kernel's peak-RSS counter (VmHWM) so the next peakRss() covers only what follows. */
  resetPeak(): void;
  /** CPU seconds (user + system) the gateway has used so far. */
  cpuSeconds(): number;
  /** Sends SIGTERM without waiting. */
  terminate(): void;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
};

/**
 * Starts the gateway and waits for its "listening" line. With a callsFile, a Docker call counter
 * (count-docker-calls.ts) is preloaded and appends every Engine API request to it. `bunArgs` go to
 * bun itself (the bench's `--cpu-prof`). With a logFile the gateway's stdout (its JSON log) goes
 * straight to that file, as a container's log goes to the engine, instead of a pipe this process
 * must keep draining: under load a busy reader made the gateway wait on its own log writes.
 */
export async function spawnGateway(env: Record<string, string>, callsFile?: string, bunArgs: string[] = [], logFile?: string): Promise<GatewayProcess> {
  if (callsFile) writeFileSync(callsFile, '');
  const preload = callsFile ? ['--preload', join(REPO_ROOT, 'test/support/count-docker-calls.ts')] : [];
  if (logFile) writeFileSync(logFile, '');
  // As the image starts it (gateway/start.sh), so what is measured and tested is what ships.
  const child = Bun.spawn(['sh', 'gateway/start.sh', ...bunArgs, ...preload], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, ...(callsFile ? { COUNT_DOCKER_CALLS_FILE: callsFile } : {}) },
    stdin: 'ignore',
    stdout: logFile ? Bun.file(logFile) : 'pipe',
    stderr: 'pipe',
  });
  const stderr = new Response(child.stderr).text();
  const listening = /"msg":"gateway listening","port":(\d+)/;
  let port: string | undefined;
  if (logFile) {
    while (!port) {
      if (child.exitCode !== null) throw new Error(`the gateway exited before listening:\n${readFileSync(logFile, 'utf8')}\n${await stderr}`);
      port = listening.exec(readFileSync(logFile, 'utf8'))?.[1];
      if (!port) await Bun.sleep(20);
    }
  } else {
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while (!port) {
      const read = await reader.read();
      if (read.done) throw new Error(`the gateway exited before listening:\n${seen}\n${await stderr}`);
      seen += decoder.decode(read.value, { stream: true });
      port = listening.exec(seen)?.[1];
    }
    // Its request log must keep flowing, or the gateway would block on a full pipe.
    void (async () => {
      while (!(await reader.read()).done);
    })();
  }

  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    dockerCalls: () => (callsFile ? readFileSync(callsFile, 'utf8').split('\n').filter(Boolean) : []),
    rss: () => memoryOf(child.pid, 'VmRSS'),
    peakRss: () => memoryOf(child.pid, 'VmHWM'),
    resetPeak: () => resetPeakMemory(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    terminate: () => child.kill('SIGTERM'),
    exited: child.exited,
    async stop() {
      child.kill('SIGTERM');
      await child.exited;
    },
  };
}
