/** The five measurements, each against a baseline taken in the same run. */
import { agentToken, identityFor } from '../../gateway/src/identity.ts';
import { AGENT_PORT, INSTANCE, coldStartByApi, coldStartByCli, gatewayAgentUserIds, ipOf, pidOf } from './docker.ts';
import type { GatewayProcess } from '../../test/support/gateway-process.ts';
import { generatedBody } from '../../test/support/bodies.ts';
import { eventArrivals, latencies, throughput, timeout, timeToFirstByte, type Call } from './load.ts';
import { cpuSecondsOf } from '../../test/support/proc.ts';
import { median, mib, MiB, ms, quantile, ratio } from './stats.ts';

export type Row = { measure: string; value: string; baseline: string; ratio: string };
export type Section = { title: string; lines: string[] };
export type Result = { rows: Row[]; notes: string[]; sections?: Section[] };

export type Bench = {
  gateway: GatewayProcess;
  gatewayToken: string;
  agentTokenSecret: string;
  /** USER_ASSERTION_SECRET, in the shared mode: the floor calls the gateway with an assertion, as the web app does. */
  assertionSecret: string;
  dataDir: string;
  configPath: string;
  /** Unique per run, so every user (and so every agent) is new. */
  run: string;
  startTimeoutMs: number;
  log: (line: string) => void;
};

export const emailOf = (bench: Bench, name: string) => `nbbench-${name}.${bench.run}@example.com`;

const viaGateway = (bench: Bench, email: string, path: string, init: RequestInit = {}, headers: Record<string, string> = {}): Call =>
  () => fetch(`${bench.gateway.url}${path}`, { signal: timeout(), ...init, headers: { Authorization: `Bearer ${bench.gatewayToken}`, 'X-User-Email': email, ...headers } });

/** Straight to the agent's container IP with its own token: what the gateway itself sends on. */
function direct(bench: Bench, email: string, agentUrl: string, path: string, init: RequestInit = {}, headers: Record<string, string> = {}): Call {
  const token = agentToken(bench.agentTokenSecret, identityFor(email, INSTANCE).containerName);
  return () => fetch(`${agentUrl}${path}`, { signal: timeout(), ...init, headers: { Authorization: `Bearer ${token}`, ...headers } });
}

/** Spawns the agent of `email` through the gateway and returns its direct address. */
export async function agentOf(bench: Bench, email: string): Promise<string> {
  await firstRequest(bench, email);
  return `http://${await ipOf(identityFor(email, INSTANCE).containerName)}:${AGENT_PORT}`;
}

const LATENCY_ROUNDS = 4;
const LATENCY_PER_ROUND = 500;
const WARMUP = 200;
const THROUGHPUT_ROUNDS = 2;
const THROUGHPUT_PER_ROUND = 2_000;
const CONCURRENCY = 16;

/** 1. Small GET /health through the gateway to a running agent vs the same agent directly. */
export async function hotPath(bench: Bench, email: string, agentUrl: string): Promise<Result> {
  const gw = viaGateway(bench, email, '/health');
  const base = direct(bench, email, agentUrl, '/health');
  const callsBefore = bench.gateway.dockerCalls().length;
  await latencies(WARMUP, gw);
  await latencies(WARMUP, base);

  // Alternating rounds, so drift on a shared machine hits both sides alike.
  const gwLatency: number[] = [];
  const baseLatency: number[] = [];
  for (let round = 0; round < LATENCY_ROUNDS; round += 1) {
    const order = round % 2 === 0 ? [gw, base] : [base, gw];
    for (const call of order) (call === gw ? gwLatency : baseLatency).push(...(await latencies(LATENCY_PER_ROUND, call)));
  }
  // CPU per request: the gateway's while it proxies, the agent's while it is called directly.
  const agentPid = await pidOf(identityFor(email, INSTANCE).containerName);
  const gwRate: number[] = [];
  const baseRate: number[] = [];
  let gwCpu = 0;
  let baseCpu = 0;
  for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
    const order = round % 2 === 0 ? [gw, base] : [base, gw];
    for (const call of order) {
      const cpuOf = () => (call === gw ? bench.gateway.cpuSeconds() : cpuSecondsOf(agentPid));
      const cpuBefore = cpuOf();
      const rate = await throughput(THROUGHPUT_PER_ROUND, CONCURRENCY, call);
      const cpu = cpuOf() - cpuBefore;
      if (call === gw) {
        gwRate.push(rate);
        gwCpu += cpu;
      } else {
        baseRate.push(rate);
        baseCpu += cpu;
      }
    }
  }
  const perRequest = (seconds: number) => (seconds / (THROUGHPUT_ROUNDS * THROUGHPUT_PER_ROUND)) * 1e6;
  const hotCalls = bench.gateway.dockerCalls().slice(callsBefore);

  const rows: Row[] = [0.5, 0.95, 0.99].map((q) => {
    const value = quantile(gwLatency, q);
    const baseline = quantile(baseLatency, q);
    return { measure: `GET /health latency p${Math.round(q * 100)} (sequential)`, value: ms(value), baseline: ms(baseline), ratio: ratio(value, baseline) };
  });
  const added = quantile(gwLatency, 0.5) - quantile(baseLatency, 0.5);
  rows.push({ measure: 'GET /health latency the gateway adds, p50', value: ms(added), baseline: '0 ms', ratio: '–' });
  const rate = median(gwRate);
  const baseRateMedian = median(baseRate);
  rows.push({ measure: `GET /health throughput (${CONCURRENCY} in flight)`, value: `${Math.round(rate)} req/s`, baseline: `${Math.round(baseRateMedian)} req/s`, ratio: ratio(rate, baseRateMedian) });
  rows.push({
    measure: 'CPU per request: gateway process vs the agent serving it directly',
    value: `${Math.round(perRequest(gwCpu))} µs`,
    baseline: `${Math.round(perRequest(baseCpu))} µs`,
    ratio: ratio(gwCpu, baseCpu),
  });
  rows.push({ measure: 'Docker API calls during the hot-path run', value: String(hotCalls.length), baseline: '0 (expected)', ratio: '–' });
  const proxied = WARMUP + LATENCY_ROUNDS * LATENCY_PER_ROUND + THROUGHPUT_ROUNDS * THROUGHPUT_PER_ROUND;
  const notes = [
    `Hot path: ${LATENCY_ROUNDS * LATENCY_PER_ROUND} sequential requests per side after ${WARMUP} warm-up requests, then ${THROUGHPUT_ROUNDS}×${THROUGHPUT_PER_ROUND} with ${CONCURRENCY} in flight; sides alternate round by round. The gateway made ${hotCalls.length} Docker API calls while it proxied ${proxied} requests${hotCalls.length ? `: ${[...new Set(hotCalls)].join(', ')}` : ''}.`,
  ];
  return { rows, notes };
}

const TTFB_SAMPLES = 300;
const TTFB_WARMUP = 20;
const SPACING_SAMPLES = 2;
const SSE_EVENTS = 3;

/**
 * 2. Time to the first SSE bytes of POST /chat through the gateway vs directly. Each sampled stream
 * is one event sent at once and read to its end, so both paths keep their connections as a web app's
 * keep-alive does; the spacing check then streams events 300 ms apart.
 */
export async function streaming(bench: Bench, email: string, agentUrl: string): Promise<Result> {
  const init = { method: 'POST', body: JSON.stringify({ message: 'hi' }) };
  const headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'x-test-mode': 'sse' };
  const quick = { ...headers, 'x-test-events': '1', 'x-test-gap-ms': '0' };
  const gw = viaGateway(bench, email, '/chat', init, quick);
  const base = direct(bench, email, agentUrl, '/chat', init, quick);
  const callsBefore = bench.gateway.dockerCalls().length;
  for (let i = 0; i < TTFB_WARMUP; i += 1) {
    await timeToFirstByte(gw, { drain: true });
    await timeToFirstByte(base, { drain: true });
  }
  const gwTtfb: number[] = [];
  const baseTtfb: number[] = [];
  for (let i = 0; i < TTFB_SAMPLES; i += 1) {
    // Alternating order, so drift on a shared machine hits both sides alike.
    if (i % 2 === 0) gwTtfb.push(await timeToFirstByte(gw, { drain: true }));
    baseTtfb.push(await timeToFirstByte(base, { drain: true }));
    if (i % 2 === 1) gwTtfb.push(await timeToFirstByte(gw, { drain: true }));
  }
  // The agent sends its events 300 ms apart: arriving 300 ms apart through the gateway means no buffering.
  const spaced = { ...headers, 'x-test-events': String(SSE_EVENTS) };
  const gwSpaced = viaGateway(bench, email, '/chat', init, spaced);
  const baseSpaced = direct(bench, email, agentUrl, '/chat', init, spaced);
  const gwLast: number[] = [];
  const baseLast: number[] = [];
  for (let i = 0; i < SPACING_SAMPLES; i += 1) {
    gwLast.push((await eventArrivals(gwSpaced)).at(-1) ?? NaN);
    baseLast.push((await eventArrivals(baseSpaced)).at(-1) ?? NaN);
  }
  const calls = bench.gateway.dockerCalls().length - callsBefore;

  const rows: Row[] = [
    { measure: 'SSE time to first byte, median', value: ms(median(gwTtfb)), baseline: ms(median(baseTtfb)), ratio: ratio(median(gwTtfb), median(baseTtfb)) },
    { measure: 'SSE time to first byte, p95', value: ms(quantile(gwTtfb, 0.95)), baseline: ms(quantile(baseTtfb, 0.95)), ratio: ratio(quantile(gwTtfb, 0.95), quantile(baseTtfb, 0.95)) },
    { measure: 'SSE time to first byte the gateway adds, p50 (target ≤ 1 ms)', value: ms(median(gwTtfb) - median(baseTtfb)), baseline: '0 ms', ratio: '–' },
    { measure: `SSE time to event ${SSE_EVENTS} of ${SSE_EVENTS} (sent 300 ms apart), median`, value: ms(median(gwLast)), baseline: ms(median(baseLast)), ratio: ratio(median(gwLast), median(baseLast)) },
  ];
  return {
    rows,
    notes: [
      `Streaming: ${TTFB_SAMPLES} first-byte samples per side after ${TTFB_WARMUP} warm-up ones, alternating; each a one-event SSE answer read to its end, so the connections are kept on both hops as a web app's keep-alive keeps them; ${SPACING_SAMPLES} streams of ${SSE_EVENTS} events 300 ms apart per side; ${calls} Docker API calls. The first half of the samples against the second moved the added median by ${ms(Math.abs(halfDrift(gwTtfb, baseTtfb)))}.`,
    ],
  };
}

/** How much the added median differs between the first and second half of the samples: how stable the number is. */
export function halfDrift(value: number[], baseline: number[]): number {
  const half = (samples: number[], first: boolean) => samples.slice(first ? 0 : samples.length >> 1, first ? samples.length >> 1 : undefined);
  return median(half(value, true)) - median(half(baseline, true)) - (median(half(value, false)) - median(half(baseline, false)));
}

const UPLOADS = [
  { size: 20 * MiB, declared: true },
  { size: 100 * MiB, declared: true },
  { size: 20 * MiB, declared: false },
  { size: 100 * MiB, declared: false },
];

/** 5. How much the gateway's resident memory grows while an upload streams through it. */
export async function memory(bench: Bench, email: string): Promise<Result> {
  const upload = (size: number, declared: boolean) =>
    viaGateway(bench, email, '/uploads', { method: 'POST', body: generatedBody(size) }, declared ? { 'Content-Length': String(size) } : {})();
  for (let i = 0; i < 3; i += 1) await (await upload(MiB, true)).arrayBuffer();
  const callsBefore = bench.gateway.dockerCalls().length;
  const rows: Row[] = [];
  for (const { size, declared } of UPLOADS) {
    await Bun.sleep(500);
    const before = bench.gateway.rss();
    bench.gateway.resetPeak();
    const started = performance.now();
    const res = await upload(size, declared);
    const echo = (await res.json()) as { bodyBytes?: number };
    const seconds = (performance.now() - started) / 1_000;
    if (res.status !== 200 || echo.bodyBytes !== size) throw new Error(`the ${mib(size)} upload answered ${res.status} with ${echo.bodyBytes} bytes`);
    const growth = Math.max(0, bench.gateway.peakRss() - before);
    rows.push({
      measure: `Gateway peak RSS growth, ${mib(size)} upload ${declared ? 'with Content-Length' : 'chunked'} (${Math.round(size / MiB / seconds)} MiB/s)`,
      value: mib(growth),
      baseline: `${mib(size)} body`,
      ratio: `${((growth / size) * 100).toFixed(1)} %`,
    });
  }
  const calls = bench.gateway.dockerCalls().length - callsBefore;
  return { rows, notes: [`Memory: peak RSS (VmHWM, reset before each upload) minus RSS just before it; bodies are generated 64 KiB at a time by the client and counted by the agent; ${calls} Docker API calls.`] };
}

const COLD_USERS = 6;

/**
 * 3. First request of a brand-new user (create, start, health, proxy) vs `docker run` + polling
 * /health, and vs the bare Engine API floor. The three take turns, so drift hits them alike.
 */
export async function coldStart(bench: Bench): Promise<Result & { gatewayMedian: number }> {
  const gw: number[] = [];
  const cli: number[] = [];
  const api: number[] = [];
  const calls: number[] = [];
  const starters = [
    async (i: number) => {
      const before = bench.gateway.dockerCalls().length;
      const started = performance.now();
      await firstRequest(bench, emailOf(bench, `cold-${i}`));
      gw.push(performance.now() - started);
      calls.push(bench.gateway.dockerCalls().length - before);
    },
    async (i: number) => cli.push(await coldStartByCli(`nbbench-cli-${bench.run}-${i}`, bench.dataDir, bench.configPath, bench.startTimeoutMs)),
    async (i: number) => api.push(await coldStartByApi(`nbbench-api-${bench.run}-${i}`, bench.dataDir, bench.configPath, bench.startTimeoutMs)),
  ];
  for (let i = 0; i < COLD_USERS; i += 1) {
    for (let k = 0; k < starters.length; k += 1) await starters[(i + k) % starters.length]!(i);
    bench.log(`  cold start ${i + 1}/${COLD_USERS}: gateway ${ms(gw.at(-1)!)}, docker run ${ms(cli.at(-1)!)}, Engine API ${ms(api.at(-1)!)}`);
  }
  const gatewayMedian = median(gw);
  return {
    gatewayMedian,
    rows: [
      { measure: `Cold start, first request of a new user, vs \`docker run\` + poll (median of ${COLD_USERS})`, value: ms(gatewayMedian), baseline: ms(median(cli)), ratio: ratio(gatewayMedian, median(cli)) },
      { measure: `Cold start vs bare Engine API create/start/inspect + poll (median of ${COLD_USERS})`, value: ms(gatewayMedian), baseline: ms(median(api)), ratio: ratio(gatewayMedian, median(api)) },
      { measure: 'Cold start, slowest, vs `docker run` + poll', value: ms(Math.max(...gw)), baseline: ms(Math.max(...cli)), ratio: ratio(Math.max(...gw), Math.max(...cli)) },
    ],
    notes: [
      `Cold start, in run order: gateway ${gw.map(ms).join(', ')}; \`docker run\` + \`docker inspect\` + GET /health every 25 ms: ${cli.map(ms).join(', ')}; Engine API create + start + inspect + GET /health every 25 ms: ${api.map(ms).join(', ')}. Docker API calls per gateway cold start: ${calls.join(', ')}.`,
    ],
  };
}

/** A user's first request, GET /health through the gateway, which must answer 200 once the agent is up. */
async function firstRequest(bench: Bench, email: string): Promise<void> {
  const res = await viaGateway(bench, email, '/health', { signal: AbortSignal.timeout(bench.startTimeoutMs + 5_000) })();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`the first request of ${email} answered ${res.status}`);
}

const CROWD = 20;

/** 4. CROWD new users at once: total time vs one cold start, and exactly one agent each. */
export async function concurrency(bench: Bench, singleColdStart: number): Promise<Result> {
  const emails = Array.from({ length: CROWD }, (_, i) => emailOf(bench, `crowd-${i}`));
  const parallel = async (start: typeof coldStartByCli, kind: string) => {
    const began = performance.now();
    await Promise.all(emails.map((_, i) => start(`nbbench-crowd-${kind}-${bench.run}-${i}`, bench.dataDir, bench.configPath, bench.startTimeoutMs)));
    return performance.now() - began;
  };
  // The gateway goes between its baselines, so the containers already running weigh on each alike.
  const cliTotal = await parallel(coldStartByCli, 'cli');
  const started = performance.now();
  await Promise.all(emails.map((email) => firstRequest(bench, email)));
  const total = performance.now() - started;
  const apiTotal = await parallel(coldStartByApi, 'api');

  const ids = new Set(emails.map((email) => identityFor(email).id));
  const agents = (await gatewayAgentUserIds()).filter((id) => ids.has(id));
  const distinct = new Set(agents).size;

  return {
    rows: [
      { measure: `${CROWD} new users at once, until all answered`, value: ms(total), baseline: `${ms(singleColdStart)} (one cold start)`, ratio: ratio(total, singleColdStart) },
      { measure: `${CROWD} new users at once vs ${CROWD} parallel \`docker run\` + poll`, value: ms(total), baseline: ms(cliTotal), ratio: ratio(total, cliTotal) },
      { measure: `${CROWD} new users at once vs ${CROWD} parallel Engine API starts + poll`, value: ms(total), baseline: ms(apiTotal), ratio: ratio(total, apiTotal) },
      { measure: `Agent containers for the ${CROWD} users`, value: String(agents.length), baseline: `${CROWD} (expected)`, ratio: agents.length === CROWD && distinct === CROWD ? 'ok' : 'WRONG' },
    ],
    notes: [`Concurrency: ${CROWD} first requests sent together, one per new user; ${agents.length} containers carry their user ids (${distinct} distinct).`],
  };
}
