/** The machine the numbers come from, and the Markdown report of docs/bench.md. */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { capture } from '../lib/run.ts';
import type { Result } from './phases.ts';
import { mib } from './stats.ts';

export type Machine = { lines: string[] };

/** `note`: what else ran on the machine meanwhile, as the person running the bench knows it (`--note`). */
export async function describeMachine(foreignContainers: number, note?: string): Promise<Machine> {
  const os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  const dockerVersions = await capture(['docker', 'version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}}), CLI {{.Client.Version}}']);
  return {
    lines: [
      `Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
      `Machine: ${os}, kernel ${release()}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${mib(totalmem())} RAM`,
      `Bun ${Bun.version}; Docker Engine ${dockerVersions.stdout.trim() || 'unknown'}`,
      `Other containers running on the engine when the bench started: ${foreignContainers}; load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`,
      ...(note ? [note] : []),
    ],
  };
}

const HOW_TO_READ = `Every row compares the gateway with a baseline measured in the same run on the same machine, so
the **ratio** is the number to watch, not the absolute values (they depend on the machine and on
whatever else it is doing). For latency and time, ratio = gateway ÷ baseline: 1.00× means the gateway
adds nothing, 2× means a request takes twice as long as going to the agent directly. For throughput a
ratio below 1 is the share of the direct rate the gateway keeps. The baselines are the same tiny test
agent (\`gateway/test/fixtures\`, a few lines of Bun) reached directly at its container IP, and for cold
starts the same image started by hand with \`docker run\` (same binds, network, limits, hardening) and
polled every 25 ms, so the numbers measure the gateway rather than the LLM agent. The client, the
gateway process (\`bun gateway/src/index.ts\`) and the agents share the machine's cores, so the
absolute hot-path numbers include the client's own cost on both sides. For memory the baseline is the
body size and the ratio is the peak growth of the gateway's resident set as a share of it; what
matters is whether the growth follows the body (compare the 20 and 100 MiB rows): a streaming proxy
grows by the same few MiB whatever the size, one that reads ahead grows with the body. CPU per
request is a process's user + system time (from /proc) over the throughput rounds, divided by the
requests. Docker API calls are counted inside the gateway process (docker-modem preloaded with a
counter); a known running agent should cost none.

The floor table puts the gateway next to the cheapest proxies there are on the same machine, agent
and load: a bare \`Bun.serve\` -> \`fetch\` pass-through (scripts/bench/bare-proxy.ts, the floor for
any proxy written in Bun) and nginx. The load generator runs on the same two cores as the proxy and
the agent, so req/s and latency move with whatever else the machine does; CPU per request of the
proxy process alone (user + system time from /proc/<pid>/stat over the load, divided by the requests
it served) is the fairer measure and the one the targets are set in.

The soak of a whole class (200 students with real agents) is \`bun run bench:soak\`, reported in
[soak.md](soak.md).`;

/**
 * What profiling the chain showed when it was made cheap (issue 15); kept with the report because
 * the floor table is read against it.
 */
const PROFILE = `Profiled with \`bun --cpu-prof\` on the gateway process under wrk (POST /chat, 32 connections, the
test agent on loopback). Before the rework the chain itself took about half of the gateway's CPU:
hono/bearer-auth hashing both tokens with WebCrypto on every request (11 % inclusive), one
\`console.log\` per request line (5 %), hono/proxy copying the request, its headers and the answer
again (\`new Request\`, \`new Headers\` twice, \`new Response\`), zod and SHA-256 for the same email
(3 %), the agent token's HMAC (1 %), \`new URL\` twice, and Hono's \`c.var\`, which builds an object
of all variables on each access. All of that is gone from the hot path (see gateway/README.md, "The
hot path"). After it, about 70 % of the gateway's samples are Bun's own native work that the bare
pass-through does as well: \`fetch\` (32 %), the server and event loop (25 %), and the first read of
\`req.url\`, which Bun builds lazily (12 %, attributed to Hono's \`getPath\`). What is left of the
gateway's own JavaScript is spread thin: \`server.requestIP\` for X-Forwarded-For 4.5 %, Hono's
middleware dispatch 3 %, the SHA-256 of the bearer token 2 %, header edits, the log line and the
timer and abort wiring of the upstream request about 1 % each. The rest of the distance to the bare
pass-through is per-request native work the bare one skips: an AbortSignal on the upstream fetch
(the header timeout and the caller going away), a Headers object of our own instead of the
caller's, and changing the answer's headers (hop-by-hop, X-Request-Id) before Bun writes it.

Profiled again after the accounts, lifecycle, metrics and relay work joined the chain (same method,
the gateway called as the web app calls it, with a user assertion). Two costs had come back. The
in-flight count for the culler wrapped every answer's body in a JavaScript ReadableStream to see its
end, which took Bun off its native path for the body: \`end\` (12 % self) and
\`onReadStreamIntoSinkClose\` (13 % inclusive) per small JSON answer, and about half the throughput.
Answers of at most 64 KiB with a declared length now count as over when their headers arrive (SSE
streams, bodies without a length and large downloads are still followed to their end). And the
user assertion, an HS256 JWT, was verified by jose on every request (about 43 µs); verified
tokens are now kept by token string until their expiry or 90 s age limit (at most 4,096), and the
session they name is still checked on every request. After both, the same profile puts 34 % of the
samples in Bun's server and event loop and 23 % in the upstream \`fetch\`, both native; the
gateway's own middleware is each under 4 % inclusive (identity with the cached assertion 3.6 %,
\`requestIP\` for X-Forwarded-For 2.7 %, the in-flight count 2.8 %, the request log 1.7 %, the
proxy histogram 1.7 %).`;

export function renderReport(machine: Machine, results: Result[], durationSeconds: number): string {
  const rows = results.flatMap((r) => r.rows);
  return [
    '# Gateway benchmarks',
    '',
    'Generated by `bun run bench` (scripts/bench.ts); numbers from one run.',
    '',
    ...machine.lines.map((line) => `- ${line}`),
    `- Whole run: ${Math.round(durationSeconds)} s`,
    '',
    '| measure | gateway | baseline | ratio |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.measure} | ${r.value} | ${r.baseline} | ${r.ratio} |`),
    '',
    ...results.flatMap((r) => r.sections ?? []).flatMap((section) => [`## ${section.title}`, '', ...section.lines, '']),
    '## What the profile showed',
    '',
    PROFILE,
    '',
    '## How to read this',
    '',
    HOW_TO_READ,
    '',
    '## Details',
    '',
    ...results.flatMap((r) => r.notes).map((note) => `- ${note}`),
    '',
  ].join('\n');
}
