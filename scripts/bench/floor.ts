/**
 * The hot path against the floor (issue 15): POST /chat to the same agent straight, through a bare
 * Bun pass-through, through nginx (when installed) and through the gateway, at 1, 32 and 128
 * connections, in rounds that rotate the order so drift on a shared machine hits all alike.
 */
import { SignJWT } from 'jose';
import { ASSERTION_AUDIENCE, ASSERTION_ISSUER } from '../../gateway/src/accounts/identity.ts';
import { agentToken, identityFor } from '../../gateway/src/identity.ts';
import { cpuSecondsOf } from '../../test/support/proc.ts';
import { nginxBinary, startBareProxy, startNginx, type BaselineProxy } from './baselines.ts';
import { INSTANCE, pidOf } from './docker.ts';
import { openLoad, wrkBinary, type Target } from './open-load.ts';
import type { Bench, Result, Row } from './phases.ts';
import { ms, ratio } from './stats.ts';

const CONNECTIONS = [1, 32, 128];
const ROUNDS = 2;
const SECONDS = 3;
const WARMUP_SECONDS = 1;

/** Each load gets its target anew: the gateway's carries a user assertion that lives 60 s. */
type Side = { name: string; target: () => Promise<Target>; cpuSeconds(): number };
type Cell = { requests: number; seconds: number; cpu: number; p50: number[]; p99: number[] };

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

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

export async function floor(bench: Bench, email: string, agentUrl: string): Promise<Result> {
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
      ...proxies.map((proxy) => ({ name: proxy.name, target: async () => ({ url: proxy.url, headers: straight }), cpuSeconds: proxy.cpuSeconds })),
      {
        name: 'gateway',
        // As the web app calls it: the verified assertion and the email it names.
        target: async () => ({
          url: bench.gateway.url,
          headers: { Authorization: `Bearer ${bench.gatewayToken}`, 'X-User-Email': email, 'X-User-Assertion': await userAssertion(bench.assertionSecret, email) },
        }),
        cpuSeconds: () => bench.gateway.cpuSeconds(),
      },
    ];
    const callsBefore = bench.gateway.dockerCalls().length;
    for (const side of sides) await openLoad(await side.target(), 32, WARMUP_SECONDS);

    const cells = new Map<string, Cell>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const connections of CONNECTIONS) {
        const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
        for (const side of order) {
          const target = await side.target();
          const cpuBefore = side.cpuSeconds();
          const load = await openLoad(target, connections, SECONDS);
          const cpu = side.cpuSeconds() - cpuBefore;
          const key = `${side.name}@${connections}`;
          const cell = cells.get(key) ?? { requests: 0, seconds: 0, cpu: 0, p50: [], p99: [] };
          cell.requests += load.requests;
          cell.seconds += load.seconds;
          cell.cpu += cpu;
          cell.p50.push(load.p50Ms);
          cell.p99.push(load.p99Ms);
          cells.set(key, cell);
        }
      }
      bench.log(`  floor round ${round + 1}/${ROUNDS} done`);
    }
    const calls = bench.gateway.dockerCalls().slice(callsBefore);

    const stat = (name: string, connections: number) => {
      const cell = cells.get(`${name}@${connections}`)!;
      return { rps: cell.requests / cell.seconds, p50: mean(cell.p50), p99: mean(cell.p99), cpuUs: (cell.cpu / cell.requests) * 1e6 };
    };
    const bare = proxies[0]!.name;
    const table = [
      '| path | connections | req/s | p50 | p99 | CPU per request | req/s ÷ bare Bun | CPU ÷ bare Bun |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...CONNECTIONS.flatMap((connections) =>
        sides.map((side) => {
          const s = stat(side.name, connections);
          const b = stat(bare, connections);
          return `| ${side.name} | ${connections} | ${Math.round(s.rps)} | ${ms(s.p50)} | ${ms(s.p99)} | ${Math.round(s.cpuUs)} µs | ${ratio(s.rps, b.rps)} | ${ratio(s.cpuUs, b.cpuUs)} |`;
        }),
      ),
    ];

    const gw32 = stat('gateway', 32);
    const bare32 = stat(bare, 32);
    const rows: Row[] = [
      { measure: 'POST /chat req/s, 32 connections: gateway vs bare Bun pass-through (target ≥ 0.70×)', value: `${Math.round(gw32.rps)} req/s`, baseline: `${Math.round(bare32.rps)} req/s`, ratio: ratio(gw32.rps, bare32.rps) },
      { measure: 'POST /chat CPU per request, 32 connections: gateway vs bare Bun pass-through (target ≤ 1.50×)', value: `${Math.round(gw32.cpuUs)} µs`, baseline: `${Math.round(bare32.cpuUs)} µs`, ratio: ratio(gw32.cpuUs, bare32.cpuUs) },
    ];
    for (const connections of [1, 32]) {
      const gw = stat('gateway', connections);
      const direct = stat('agent direct', connections);
      rows.push({ measure: `POST /chat p99 the gateway adds over the agent direct, ${connections} connection${connections > 1 ? 's' : ''} (target ≤ 2 ms)`, value: ms(gw.p99 - direct.p99), baseline: `${ms(direct.p99)} direct`, ratio: ratio(gw.p99, direct.p99) });
    }
    if (nginx) {
      const nginx32 = stat(proxies[1]!.name, 32);
      rows.push({ measure: 'POST /chat CPU per request, 32 connections: gateway vs nginx', value: `${Math.round(gw32.cpuUs)} µs`, baseline: `${Math.round(nginx32.cpuUs)} µs`, ratio: ratio(gw32.cpuUs, nginx32.cpuUs) });
    }
    rows.push({ measure: 'Docker API calls during the floor run', value: String(calls.length), baseline: '0 (expected)', ratio: '–' });

    const generator = wrkBinary() ? 'wrk (one thread, a Lua script for the POST)' : 'the Bun load generator (wrk is not installed: `apt-get install wrk`)';
    const notes = [
      `Floor: ${generator}; ${ROUNDS} rounds of ${SECONDS} s per path and connection count after ${WARMUP_SECONDS} s of warm-up each, the order rotating per round; req/s over all rounds, p50/p99 the mean of the rounds. The gateway is called as the web app calls it, with a user assertion (HS256 JWT, signed anew for each load) and X-User-Email; the other paths get the agent's token. nginx ${nginx ? 'from the system (one worker, upstream keep-alive, unbuffered, access log buffered 64 KiB)' : 'is not installed (`apt-get install nginx-light`), so it has no row'}. ${calls.length} Docker API calls.`,
    ];
    return { rows, notes, sections: [{ title: 'The hot path against the floor (POST /chat)', lines: table }] };
  } finally {
    for (const proxy of proxies) await proxy.stop().catch(() => {});
  }
}
