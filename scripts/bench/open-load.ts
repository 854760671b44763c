/**
 * Load for a fixed time on N connections, POST /chat with a small JSON body: wrk when it is installed
 * (C, one thread), else a Bun client. Either way the load generator shares the machine's cores with
 * the proxy under test, which is why CPU per request of the proxy process is reported too.
 *
 * Without a rate every connection sends its next request as soon as the last one is answered (closed
 * loop): that finds the most a proxy can do, and its latencies at that point are mostly queueing.
 * With `ratePerSecond` each connection waits a random 0-2× its share of the gap before each request
 * (random, so the connections do not fire in step), which holds the load at about that rate, below
 * saturation: the latencies are then what one request costs, not how long it waited in a queue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantile } from './stats.ts';

export type Target = { url: string; headers: Record<string, string> };
export type LoadResult = { requests: number; seconds: number; rps: number; p50Ms: number; p99Ms: number };

export const BODY = JSON.stringify({ message: 'hi' });

export const wrkBinary = (): string | undefined => Bun.which('wrk') ?? undefined;

/** The request wrk sends; headers come from the environment so one script serves every target. */
const WRK_SCRIPT = `
wrk.method = "POST"
wrk.body = os.getenv("NBBENCH_BODY")
local gap = tonumber(os.getenv("NBBENCH_GAP_MS"))
if gap then
  function delay() return math.random() * 2 * gap end
end
for name, value in string.gmatch(os.getenv("NBBENCH_HEADERS"), "([^\\n:]+): ([^\\n]*)") do
  wrk.headers[name] = value
end
`;

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3 };

function wrkDuration(output: string, label: string): number {
  const match = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
  if (!match) throw new Error(`wrk printed no ${label} latency:\n${output}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Milliseconds each connection waits on average before its next request, for `rate` requests a second over all of them. */
const gapMs = (connections: number, rate: number) => (connections / rate) * 1_000;

async function withWrk(wrk: string, target: Target, connections: number, seconds: number, rate: number | undefined): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nbbench-wrk-'));
  try {
    const script = join(dir, 'post.lua');
    await writeFile(script, WRK_SCRIPT);
    const headers = Object.entries({ 'Content-Type': 'application/json', ...target.headers }).map(([k, v]) => `${k}: ${v}`).join('\n');
    const child = Bun.spawn([wrk, '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${target.url}/chat`], {
      env: { ...process.env, NBBENCH_BODY: BODY, NBBENCH_HEADERS: headers, ...(rate ? { NBBENCH_GAP_MS: String(gapMs(connections, rate)) } : {}) },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [output, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) throw new Error(`wrk failed: ${errors}`);
    const failed = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
    if (failed) throw new Error(`wrk saw ${failed} failed responses from ${target.url}`);
    if (/Socket errors/.test(output)) throw new Error(`wrk saw socket errors against ${target.url}:\n${output}`);
    const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
    return { requests, seconds: requests / rps, rps, p50Ms: wrkDuration(output, '50%'), p99Ms: wrkDuration(output, '99%') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function withBun(target: Target, connections: number, seconds: number, rate: number | undefined): Promise<LoadResult> {
  const samples: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1_000;
  const headers = { 'Content-Type': 'application/json', ...target.headers };
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        if (rate) await Bun.sleep(Math.random() * 2 * gapMs(connections, rate));
        const sent = performance.now();
        const res = await fetch(`${target.url}/chat`, { method: 'POST', headers, body: BODY });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${target.url} answered ${res.status}`);
        samples.push(performance.now() - sent);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  return { requests: samples.length, seconds: elapsed, rps: samples.length / elapsed, p50Ms: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99) };
}

export function openLoad(target: Target, connections: number, seconds: number, ratePerSecond?: number): Promise<LoadResult> {
  const wrk = wrkBinary();
  return wrk ? withWrk(wrk, target, connections, seconds, ratePerSecond) : withBun(target, connections, seconds, ratePerSecond);
}
