/**
 * The hot path against the floor (issue 15): POST /chat to the same agent straight, through a bare
 * Bun pass-through, through nginx (when installed) and through the gateway, in rounds that rotate the
 * order so drift on a shared machine hits all alike. Two kinds of load, because they answer two
 * questions: closed-loop at 1, 32 and 128 connections (how much a proxy can do, and its CPU per
 * request there), and a fixed rate well below the gateway's saturation (what a request costs in
 * latency when nothing waits in a queue: the "added p99" target).
 */
import { SignJWT } from 'jose';
import { ASSERTION_AUDIENCE, ASSERTION_ISSUER } from '../../gateway/src/accounts/identity.ts';
import { agentToken, identityFor } from '../../gateway/src/identity.ts';
import { cpuSecondsOf, threadCpuSecondsOf } from '../../test/support/proc.ts';
import { nginxBinary, startBareProxy, startNginx, type BaselineProxy } from './baselines.ts';
import { INSTANCE, pidOf } from './docker.ts';
import { openLoad, wrkBinary, type LoadResult, type Target } from './open-load.ts';
import type { Bench, Result, Row } from './phases.ts';
import { ms, ratio } from './stats.ts';

/** The connection counts of the closed-loop table; the targets are read at 32, which is always run. */
export const CONNECTIONS = [1, 32, 128];
const TARGET_CONNECTIONS = 32;
const ROUNDS = 4;
const SECONDS = 3;
/**
 * Each side serves this long before anything is measured. The gateway runs far more JavaScript than
 * the bare pass-through, and JavaScriptCore compiles its optimised code only after thousands of
 * calls: after 1 s of warm-up its JIT thread still spent 27 µs a request in the first measured round
 * and its JavaScript thread fell from 144 to 107 µs a request over the rounds; after 8 s the JIT
 * spent under 1 µs a request from the first round on. A gateway serving a school is long past that.
 */
const WARMUP_SECONDS = 5;
/** The fixed rate is this share of the gateway's closed-loop rate at 32 connections... */
const RATE_SHARE = 0.25;
/** ...but never more than this: far above what a school sends, and low enough to stay below saturation on a busy machine. */
const MAX_RATE = 1_000;
const RATE_ROUNDS = 2;
const RATE_SECONDS = 5;

/** What each thread of the process does, as far as its name tells. */
const THREAD_ROLES: Record<string, string> = {
  bun: 'JavaScript, the event loop and the HTTP server',
  'HTTP Client': "Bun's fetch (the connections to the agent)",
  JITWorker: "JavaScriptCore's optimising compilers",
  HeapHelper: 'garbage collector (marking)',
  JSCWarmUp: "JavaScriptCore's memory block warm-up (off in the gateway: gateway/start.sh)",
  'mi-scavenger': 'the allocator returning memory to the system',
};

/**
 * The two Bun processes side by side, thread by thread (from /proc/<pid>/task/<tid>/stat over the same
 * rounds): where the gateway's extra CPU per request is spent. Threads under 0.5 µs in both are left out.
 */
function byThread(bare: Stat, gateway: Stat): string[] {
  const names = [...new Set([...bare.threadUs.keys(), ...gateway.threadUs.keys()])]
    .filter((name) => Math.max(bare.threadUs.get(name) ?? 0, gateway.threadUs.get(name) ?? 0) >= 0.5)
    .sort((a, b) => (gateway.threadUs.get(b) ?? 0) - (gateway.threadUs.get(a) ?? 0));
  const us = (stat: Stat, name: string) => `${(stat.threadUs.get(name) ?? 0).toFixed(1)} µs`;
  return [
    '| thread | what it does | bare Bun pass-through | gateway |',
    '|---|---|---:|---:|',
    ...names.map((name) => `| ${name} | ${THREAD_ROLES[name] ?? '–'} | ${us(bare, name)} | ${us(gateway, name)} |`),
  ];
}

/** Each load gets its target anew: the gateway's carries a user assertion that lives 60 s. */
type Side = { name: string; target: () => Promise<Target>; cpuSeconds(): number; threadCpuSeconds?(): Map<string, number> };
type Cell = { requests: number; seconds: number; cpu: number; threads: Map<string, number>; p50: number[]; p99: number[] };
/** `threadUs`: CPU µs per request by thread name, for the sides that are one process of ours. */
type Stat = { rps: number; p50: number; p99: number; cpuUs: number; threadUs: Map<string, number> };

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** `GET /x ×3, POST /y`: each distinct call with how often it was made. */
function countedCalls(calls: string[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const name = call.replace(/\?.*/, '');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([call, n]) => (n > 1 ? `${call} ×${n}` : call)).join(', ');
}

/** What the web app sends with every call: a 60 s assertion of the user, signed with USER_ASSERTION_SECRET (shared mode: no session). */
export function userAssertion(secret: string, email: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(email)
    .setIssuer(ASSERTION_ISSUER)
    .setAudience(ASSERTION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(new TextEncoder().encode(secret));
}

/** Every side under the same load, `rounds` times in rotating order; cells keyed `<side>@<connections>`. */
async function measure(sides: Side[], loads: { connections: number; rate?: number }[], rounds: number, seconds: number, log: (line: string) => void, label: string) {
  const cells = new Map<string, Cell>();
  for (let round = 0; round < rounds; round += 1) {
    for (const { connections, rate } of loads) {
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const side of order) {
        const target = await side.target();
        const cpuBefore = side.cpuSeconds();
        const threadsBefore = side.threadCpuSeconds?.();
        const load: LoadResult = await openLoad(target, connections, seconds, rate);
        const cpu = side.cpuSeconds() - cpuBefore;
        const threadsAfter = side.threadCpuSeconds?.();
        const key = `${side.name}@${connections}`;
        const cell: Cell = cells.get(key) ?? { requests: 0, seconds: 0, cpu: 0, threads: new Map(), p50: [], p99: [] };
        cell.requests += load.requests;
        cell.seconds += load.seconds;
        cell.cpu += cpu;
        for (const [name, seconds] of threadsAfter ?? []) cell.threads.set(name, (cell.threads.get(name) ?? 0) + seconds - (threadsBefore?.get(name) ?? 0));
        cell.p50.push(load.p50Ms);
        cell.p99.push(load.p99Ms);
        cells.set(key, cell);
      }
    }
    log(`  ${label} round ${round + 1}/${rounds} done`);
  }
  return (name: string, connections: number): Stat => {
    const cell = cells.get(`${name}@${connections}`)!;
    const threadUs = new Map([...cell.threads].map(([thread, seconds]) => [thread, (seconds / cell.requests) * 1e6]));
    return { rps: cell.requests / cell.seconds, p50: mean(cell.p50), p99: mean(cell.p99), cpuUs: (cell.cpu / cell.requests) * 1e6, threadUs };
  };
}

export async function floor(bench: Bench, email: string, agentUrl: string, connectionCounts: number[] = CONNECTIONS): Promise<Result> {
  const connectionsRun = [...new Set([...connectionCounts, TARGET_CONNECTIONS])].sort((a, b) => a - b);
  const { containerName } = identityFor(email, INSTANCE);
  const agentPid = await pidOf(containerName);
  // What the gateway itself sends on: the agent's own token. The other proxies pass headers as they are.
  const straight = { Authorization: `Bearer ${agentToken(bench.agentTokenSecret, containerName)}`, 'X-User-Email': email };
  const proxies: BaselineProxy[] = [await startBareProxy(agentUrl)];
  const nginx = nginxBinary();
  try {
    if (nginx) proxies.push(await startNginx(nginx, agentUrl));
    const sides: Side[] = [
      { name: 'agent direct', target: async () => ({ url: agentUrl, headers: straight }), cpuSeconds: () => cpuSecondsOf(agentPid) },
      ...proxies.map((proxy) => ({ name: proxy.name, target: async () => ({ url: proxy.url, headers: straight }), cpuSeconds: proxy.cpuSeconds, threadCpuSeconds: proxy.threadCpuSeconds })),
      {
        name: 'gateway',
        // As the web app calls it: the verified assertion and the email it names.
        target: async () => ({
          url: bench.gateway.url,
          headers: { Authorization: `Bearer ${bench.gatewayToken}`, 'X-User-Email': email, 'X-User-Assertion': await userAssertion(bench.assertionSecret, email) },
        }),
        cpuSeconds: () => bench.gateway.cpuSeconds(),
        threadCpuSeconds: () => threadCpuSecondsOf(bench.gateway.pid),
      },
    ];
    const callsBefore = bench.gateway.dockerCalls().length;
    for (const side of sides) await openLoad(await side.target(), TARGET_CONNECTIONS, WARMUP_SECONDS);

    const closed = await measure(sides, connectionsRun.map((connections) => ({ connections })), ROUNDS, SECONDS, bench.log, 'closed-loop');
    const rate = Math.round(Math.min(MAX_RATE, RATE_SHARE * closed('gateway', TARGET_CONNECTIONS).rps));
    const fixed = await measure(sides, [{ connections: TARGET_CONNECTIONS, rate }], RATE_ROUNDS, RATE_SECONDS, bench.log, `${rate} req/s`);
    const calls = bench.gateway.dockerCalls().slice(callsBefore);

    const bare = proxies[0]!.name;
    const cpuCell = (s: Stat, b: Stat) => `${Math.round(s.cpuUs)} µs | ${ratio(s.cpuUs, b.cpuUs)}`;
    const closedTable = [
      '| path | connections | req/s | p50 | p99 | CPU per request | CPU ÷ bare Bun | req/s ÷ bare Bun |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...connectionsRun.flatMap((connections) =>
        sides.map((side) => {
          const s = closed(side.name, connections);
          const b = closed(bare, connections);
          return `| ${side.name} | ${connections} | ${Math.round(s.rps)} | ${ms(s.p50)} | ${ms(s.p99)} | ${cpuCell(s, b)} | ${ratio(s.rps, b.rps)} |`;
        }),
      ),
    ];
    const direct = fixed('agent direct', TARGET_CONNECTIONS);
    const fixedTable = [
      '| path | req/s | p50 | p99 | p50 added over direct | p99 added over direct | CPU per request | CPU ÷ bare Bun |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...sides.map((side) => {
        const s = fixed(side.name, TARGET_CONNECTIONS);
        return `| ${side.name} | ${Math.round(s.rps)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p50 - direct.p50)} | ${ms(s.p99 - direct.p99)} | ${cpuCell(s, fixed(bare, TARGET_CONNECTIONS))} |`;
      }),
    ];

    const gw = closed('gateway', TARGET_CONNECTIONS);
    const bareClosed = closed(bare, TARGET_CONNECTIONS);
    const threadTable = byThread(bareClosed, gw);
    const gwFixed = fixed('gateway', TARGET_CONNECTIONS);
    const bareFixed = fixed(bare, TARGET_CONNECTIONS);
    const rows: Row[] = [
      { measure: 'POST /chat req/s, 32 connections, closed loop: gateway vs bare Bun pass-through (target ≥ 0.70×)', value: `${Math.round(gw.rps)} req/s`, baseline: `${Math.round(bareClosed.rps)} req/s`, ratio: ratio(gw.rps, bareClosed.rps) },
      { measure: 'POST /chat CPU per request, 32 connections, closed loop: gateway vs bare Bun pass-through (target ≤ 1.50×)', value: `${Math.round(gw.cpuUs)} µs`, baseline: `${Math.round(bareClosed.cpuUs)} µs`, ratio: ratio(gw.cpuUs, bareClosed.cpuUs) },
      { measure: `POST /chat CPU per request at ${rate} req/s: gateway vs bare Bun pass-through`, value: `${Math.round(gwFixed.cpuUs)} µs`, baseline: `${Math.round(bareFixed.cpuUs)} µs`, ratio: ratio(gwFixed.cpuUs, bareFixed.cpuUs) },
      { measure: `POST /chat p99 the gateway adds over the agent direct at ${rate} req/s, below saturation (target ≤ 2 ms)`, value: ms(gwFixed.p99 - direct.p99), baseline: `${ms(direct.p99)} direct`, ratio: ratio(gwFixed.p99, direct.p99) },
      { measure: `POST /chat p99 the gateway adds over the bare Bun pass-through at ${rate} req/s`, value: ms(gwFixed.p99 - bareFixed.p99), baseline: `${ms(bareFixed.p99)} bare`, ratio: ratio(gwFixed.p99, bareFixed.p99) },
      { measure: `POST /chat p50 the gateway adds over the agent direct at ${rate} req/s`, value: ms(gwFixed.p50 - direct.p50), baseline: `${ms(direct.p50)} direct`, ratio: ratio(gwFixed.p50, direct.p50) },
    ];
    if (nginx) {
      const nginx32 = closed(proxies[1]!.name, TARGET_CONNECTIONS);
      rows.push({ measure: 'POST /chat CPU per request, 32 connections, closed loop: gateway vs nginx', value: `${Math.round(gw.cpuUs)} µs`, baseline: `${Math.round(nginx32.cpuUs)} µs`, ratio: ratio(gw.cpuUs, nginx32.cpuUs) });
    }
    // The culler sweeps on its own schedule (agents/culler.ts), whatever the traffic: it lists the agents
    // and inspects the image to find outdated ones. Not calls of the request path.
    const isSweep = (call: string) => call.startsWith('GET /containers/json') || /^GET \/images\/[^/]+\/json$/.test(call);
    const requestPathCalls = calls.filter((call) => !isSweep(call));
    rows.push({ measure: 'Docker API calls of the request path during the floor run (the culler\'s sweeps, a container list and an image inspect each, apart)', value: String(requestPathCalls.length), baseline: '0 (expected)', ratio: '–' });

    const generator = wrkBinary() ? 'wrk (one thread, a Lua script for the POST)' : 'the Bun load generator (wrk is not installed: `apt-get install wrk`)';
    const notes = [
      `Floor: ${generator}. Closed loop: ${ROUNDS} rounds of ${SECONDS} s per path and connection count after ${WARMUP_SECONDS} s of warm-up each, the order rotating per round; req/s over all rounds, p50/p99 the mean of the rounds. Fixed rate: ${rate} req/s on ${TARGET_CONNECTIONS} connections (${Math.round(RATE_SHARE * 100)} % of the gateway's closed-loop rate, at most ${MAX_RATE}), each connection waiting a random 0-2× its share of the gap before each request, ${RATE_ROUNDS} rounds of ${RATE_SECONDS} s per path. The gateway is called as the web app calls it, with a user assertion (HS256 JWT, signed anew for each load) and X-User-Email; the other paths get the agent's token. nginx ${nginx ? 'from the system (one worker, upstream keep-alive, unbuffered, access log buffered 64 KiB)' : 'is not installed (`apt-get install nginx-light`), so it has no row'}. ${calls.length} Docker API calls in all${calls.length ? ` (${countedCalls(calls)})` : ''}.`,
    ];
    return {
      rows,
      notes,
      sections: [
        { title: 'The hot path against the floor (POST /chat), closed loop: capacity and CPU', lines: closedTable },
        { title: `The hot path below saturation (POST /chat at ${rate} req/s, ${TARGET_CONNECTIONS} connections): added latency`, lines: fixedTable },
        { title: `Where the CPU goes: each thread's CPU per request, ${TARGET_CONNECTIONS} connections, closed loop`, lines: threadTable },
      ],
    };
  } finally {
    for (const proxy of proxies) await proxy.stop().catch(() => {});
  }
}
