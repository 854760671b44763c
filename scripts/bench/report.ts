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
gateway process (\`sh gateway/start.sh\`, as its image starts it) and the agents share the machine's cores, so the
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
it served) is the fairer measure and the one the targets are set in. For the two Bun processes it
is also read thread by thread (/proc/<pid>/task), which shows where the gateway's extra CPU goes. The gateway logs to a file
there, as nginx does (a pipe drained by the busy bench process made it wait on its own writes), and
its per-student limits are on but set too high to refuse, so their cost is in its numbers. Every
side is warmed for 5 s before the rounds: the gateway's JavaScript must be compiled by
JavaScriptCore's optimising tiers first, as it is in a gateway that has served for a while.

Two kinds of load answer two questions. Closed loop (each connection sends again as soon as it is
answered) finds the most a proxy can do and its CPU per request there: the req/s and CPU targets.
Its p99 is not what a request costs: at saturation most of it is time in a queue, so it says how
much slower a saturated proxy is, not what it adds. The added latency (the "p99 the gateway adds"
target) is therefore read at a fixed rate well below the gateway's saturation (a quarter of its
closed-loop rate, at most 1,000 req/s, on 32 connections, each waiting a random 0-2× its share of
the gap so they do not fire in step), the same rate for every path; CPU per request is reported
there too (higher than at saturation for every path: fewer requests share each wake-up). On two
shared cores the p99 at that rate still moves with whatever else runs, so it is read against the
bare pass-through and nginx in the same table: what they add is what any proxy hop adds here.

Time to first byte (SSE through the gateway, streamed completions through the relay) is the median
of 300 alternating samples per side after warm-up ones (20 for SSE, whose chain the floor has
already warmed; 200 for the relay), each stream read to its end so that
every hop keeps its connection, as the web app's and the agent SDK's keep-alive do. Cancelling each
stream after its first bytes, as earlier runs did, closed the connections and made every sample
through a proxy pay two new connections against one direct. The details give how much the added
median moved between the first and second half of the samples.

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
proxy histogram 1.7 %).

Profiled a third time with the quiet run of the session's start in hand (CPU per request 3.45× the
bare pass-through at 32 connections, req/s 0.35×), with \`bun run bench --only floor --connections 32
--cpu-prof DIR\`. Every POST body, even a chat message's few bytes, went through a JavaScript
TransformStream so the proxy could see it arrive (\`BODY_IDLE_TIMEOUT\`): the stream machinery
(\`onReadStreamIntoSinkReadManyFulfilled\`, \`onRSDefaultControllerStartFulfilled\` and
\`PullFulfilled\`, \`pipeThrough\`, \`TransformStream\`) was about a fifth of the samples. A
declared body of at most 64 KiB is now read whole by Bun and sent on as bytes, under the same
deadline: 557 → 289 µs per request in back-to-back runs on a busy machine. The request log then
showed as 10 % of the samples: Bun's profiler samples wall time, and the bench drained the
gateway's stdout through a pipe from its own busy process, so the gateway waited on its own writes;
it now logs to a file as nginx does, and past \`REQUEST_LOG_PER_SECOND\` (100) successful lines a
second the rest are counted, not written (errors, refusals and starts always are). A non-default
\`GATEWAY_INSTANCE\`, as the bench's, hashed the email again on every request (3.6 % inclusive); the
renamed identity is now kept per user. After these, in this session's runs: 222-272 µs per
request at 32 connections, closed loop, against the bare pass-through's 103-139 µs (1.6-2.65×; the
target of 1.5× is not met), 0.61-0.92× its req/s; at a fixed 1,000 req/s 1.28-1.50×. The bare
pass-through's own cost per request moves most between runs: saturated on a quiet machine it
batches many requests per wake-up (103 µs), so the closed-loop ratio is widest there. The last
profile (quiet machine, limits on): Bun's own server and event loop (28 % self) and upstream
\`fetch\` (19 %), which the bare pass-through pays alike, are half the samples. The rest is spread
thin, each piece a guarantee: the proxy's own function 4.9 % (the timer, the pause listener and the
abort wiring for the header deadline, a paused agent and a caller who goes away; \`AbortController\`
1.7 %, the listener on the caller's signal 1.5 %, \`setTimeout\` 1.2 % beside it),
\`server.requestIP\` for X-Forwarded-For 4.7 % (about 5 µs a call, measured alone), Hono's dispatch
of the chain's middlewares about 3 %, header reads and edits about 4 %, prom-client's labelled
counter and histogram about 2 % (3 and 4 µs a request measured alone), the verified-assertion cache
0.6 %; the request log no longer shows. None is above 5 %, which made the sum of these look like
what bounds the gateway at about 2× the bare pass-through's CPU. It was not.

A fourth look, with the gateway's chain served in front of the test agent on the host (no Docker,
so variants can be swapped in one at a time) and each thread's CPU read from /proc under wrk, found
what the profile cannot show: Bun's profiler samples the JavaScript thread, and a third of the
gateway's CPU per request was on JSC's other threads (\`JSCWarmUp\`, which prepares memory
blocks for allocation, 25 µs; \`HeapHelper\` and \`JITWorker\`, 20 µs more), against 1 µs
for the bare pass-through. A Hono app with the same native work as the proxy (an
\`AbortController\`, a timer, a \`Headers\` copy with the same edits, \`requestIP\`, the body
read whole, the answer's headers edited) behind fourteen no-op middlewares cost 0.9× the bare
pass-through: neither Hono nor those guarantees were the cost. Swapping the pieces of the proxy
out one by one found it: each request put its pause listener (a closure holding the request's
state) into its agent's long-lived \`Set\` and deleted it when done. In numbered slots that a
finished request clears (\`agents/pauses.ts\`), with nothing else changed: 2.2× → 1.5× in the
same harness, the helper threads' share from about 50 to about 20 µs. (Measured by swapping one
for the other; why JSC's generational collector pays so much for a long-lived table that every
request adds to and deletes from was not traced inside JSC.) The assertion cache moved each hit to
the end of its \`Map\` (delete, set), the same pattern per request; a hit now writes a use count. In that session's run: 1.64× at 32 connections (2.30× before), 0.81× the req/s (0.61×). What was
left then was not one piece: the chain's own objects, and the helper threads that serve the allocator.

A fifth look (the session after) measured the chain in-process as well: \`createApp\` answering from
a fetch that returns at once, several variants in one process in alternating rounds, the CPU of all
threads per request, so that pieces of a few µs could be told apart. Two were not forwarding. The
proxy attached a listener to the caller's \`req.signal\` on every request, and Bun makes that
\`AbortSignal\` on first use: about 5 µs of the chain's 35. The request's one timer now starts
following the caller once it has waited a second (an answer already streaming is cut by Bun itself
when its caller disconnects), so a caller who leaves a short request costs its agent at most a second more work. The
metrics middlewares ran \`routePath\` twice a request (it maps every matched handler) and gave
prom-client new label objects: about 3 µs; each proxied route now names itself and each label set's
counter is made once. End to end in the host harness: 1.68-1.71× → 1.58-1.60×. The rest was
JSC's \`JSCWarmUp\` thread, 17-21 µs a request there against 1 µs for the bare pass-through: it
touches memory blocks ahead of the allocator. JavaScriptCore can turn it off
(\`useWarmUpMarkedBlocks\`, which Bun reads from \`BUN_JSC_useWarmUpMarkedBlocks=false\` before it
starts); with it off the JavaScript thread spends about 5 µs more and the process about 15 µs less
(1.53-1.58× → 1.38-1.39× in one run of that harness). Bun says such switches may change between
releases and refuses to start on one it no longer knows, so \`gateway/start.sh\`, which the image,
this bench and the tests run, sets it only if the Bun it runs on accepts it. Six floor runs of
that code gave 1.20-1.58× the bare pass-through's CPU per request at 32 connections: the target was
met in most runs, not in every one.

A sixth look found two sources of that spread. The first was the warm-up. Each side had 1 s of load
before the rounds were measured, and in a whole bench the phases before the floor send the gateway
\`GET /health\`, not \`POST /chat\`. Read per thread and per round (from /proc, during a floor-only
run), the gateway's \`JITWorker\` thread still spent 27 µs a request in the first measured round and
its JavaScript thread fell from 144 to 107 µs a request over the four rounds, while the bare
pass-through, with almost no code of its own, was steady at 46-69 µs. With 8 s of warm-up the JIT
spent under 1 µs a request from the first round on; the floor now warms every side for 5 s, as a
gateway serving a school runs warm code all term. The second is the process itself: four identical
gateway processes under the same load in the host harness, in the same rotating rounds, gave 1.20,
1.34, 1.38 and 1.49× the bare pass-through (their JavaScript threads 70-90 µs a request), another
four 1.31-1.61×. JavaScriptCore compiles on a background thread from what it has profiled so far,
and its compile log (\`BUN_JSC_reportDFGCompileTimes\`, \`reportFTLCompileTimes\`) shows the same code
compiled again and again through a floor run: each of the chain's async middlewares 3-7 times,
Hono's \`dispatch\` 11 times. Which of its guesses fail was not traced; compiling on the JavaScript
thread instead (\`useConcurrentJIT=false\`) was slower and no steadier. Floor-only runs since
gave 1.21 and 1.24× (the second warmed for 8 s), 1.48×, 1.23× under the profiler, 1.51× with JSC's
compile log on and 1.60× when started on a machine still busy from a whole bench; the three whole
benches, whose earlier phases send other requests first, 1.39, 1.51 and 1.36×. The whole run of this report, on the
code of a later session (its changes to the chain are a method compared and a number checked),
gave 1.58×, and floor-only runs of that code and of the code before it, alternated, gave 1.44 and
1.60× against 1.50 and 1.20×. So the target is met in most runs, not in all, and the spread
between identical processes is as wide as the distance to it. What is above the bare pass-through
is the chain's own work on the JavaScript thread, 30-80 µs a request between runs, no piece of it
above 5 % of the samples; none of the ideas left is worth more than a few µs (eight no-op async
Hono middlewares cost 5 µs a request in-process, written as plain functions 3.5 µs;
\`server.requestIP\` 2 µs a call).

The fixed-rate p99 is the
bench's noisiest number (one stall of a few ms in a round moves it), so it is read against the bare
pass-through in the same run. In nine runs of the floor this session (six alone, three in whole benches) the bare pass-through added
1.6-5.3 ms to the agent's p99 at 1,000 req/s, nginx 0.1-1.4 ms and the gateway 3.2-4.9 ms: no Bun
proxy on this machine meets the 2 ms target, and the gateway adds up to about 2 ms of tail of its own
(1.10 ms in the run of this report: 3.45 ms against the bare pass-through's 2.35).
Bun's \`fetch\` answers on its own HTTP client thread, and each request's hand-over between that
thread and the JavaScript thread waits for a core on two cores shared with the load generator and
the agent; nginx is one thread that hands nothing over. Part of the gateway's own tail is its
garbage collector: JSC's log of its collections (\`BUN_JSC_logGC=true\`, host harness, 1,000 req/s)
shows eden collections a few times a second in both processes, each stopping the JavaScript thread
for 0.5-1.4 ms in the bare pass-through (a 5-8 MB heap) and 1.3-3.2 ms in the gateway (45-70 MB, of
which docker-modem's unused ssh2 client is most); with ssh2 kept from loading, the harness's p99 did
not move beyond its noise, so the heap's size is not all of it.

The relay's first chunk pays one more process hop, like the bare pass-through's (0.69-0.95 ms of the
1 ms budget), and its own work: the key checked, the limits, the body read whole and parsed (the
relay must add \`stream_options.include_usage\`, so it cannot stream the request through), and each
chunk shown to the usage meter. Measured in a host harness, code run after an idle gap is far
slower than hot (an HMAC-SHA256 of the key: 1.1 µs in a loop, 25-50 µs after 20 ms idle), and
LLM calls arrive with gaps. So the relay now keeps each caller's MAC once computed, and today's
token totals in memory instead of two SQLite reads per call (the bench now sets the relay's limits,
as a school would, so their checks are measured); together about 0.12-0.15 ms off the first chunk in
that harness. The relay is now warmed with 200 calls per side (JavaScriptCore's optimising tiers
need some hundreds): with 30 it added 0.40-0.46 ms over the bare pass-through, after 1,000 0.21 ms.
What remains, 0.3-0.4 ms over the bare hop, is spread over the Hono dispatch, the body read, the
header copies and the metering stream (swapping each out alone moved the median by 0.03-0.15 ms,
within the run-to-run spread); a bare hop that reads the body first is itself 0.1-0.2 ms faster than
the streaming bare pass-through. So the relay's own work comes to about 0.3-0.4 ms, most of it code
run after an idle gap, and the two halves of one run's samples differ by up to 0.3 ms.

A later look at the hop itself, in the same host harness. A hop whose upstream leg is a
\`Bun.connect\` socket on the JavaScript thread, with no HTTP client thread at all (a minimal HTTP/1.1
client written for the measurement only), added 0.63 ms to the first chunk, against 0.64 ms with
\`fetch\` in the same run (0.70 against 0.77 with the answer streamed through JavaScript). The upstream
leg takes about 0.49 ms either way: Bun's HTTP client thread is not what bounds the floor, the
wake-ups of the processes on this machine are. The relay with its one route matched by hand instead
of by Hono added 1.01 ms against 1.03 ms. With the key check, the limits, the provider lookup, the
abort timer, the header copies and the metering stream all taken out at once, it still added 0.75 ms,
against 0.62 ms for a hop that reads the body and rewrites it. No single part of the relay's own work
is large enough to bring the relay under 1 ms here: what bounds it is the hop (0.6-0.85 ms in Bun on
this machine) plus its cold code, spread thinly. The whole run of this report measured the relay
at 0.97 ms (its bare hop 0.63 ms): under the target in this run, over it (1.23 ms) in the one before.`;

/** `only`: some phases were picked with `--only`; `pending`: phases still to run (the report is written after each). */
export type Progress = { only: boolean; pending: readonly string[] };

export function renderReport(machine: Machine, results: Result[], durationSeconds: number, { only, pending }: Progress): string {
  const rows = results.flatMap((r) => r.rows);
  const scope = [
    ...(only ? ['Only some phases were run (`--only`).'] : []),
    ...(pending.length > 0 ? [`Incomplete: still to run when this was written: ${pending.join(', ')}.`] : []),
  ];
  return [
    '# Gateway benchmarks',
    '',
    'Generated by `bun run bench` (scripts/bench.ts); numbers from one run.',
    '',
    ...machine.lines.map((line) => `- ${line}`),
    `- ${pending.length > 0 ? 'Run so far' : 'Whole run'}: ${Math.round(durationSeconds)} s`,
    ...scope.map((line) => `- ${line}`),
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
