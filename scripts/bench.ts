/**
 * `bun run bench`: measures the real gateway (as its own process) against the real Docker Engine,
 * every number next to a baseline taken in the same run, and writes docs/bench.md.
 * Everything it creates is named or labelled `nbbench` and removed at the end, also on failure.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_LIMITS, createNetwork, foreignRunningContainers, IMAGE, INSTANCE, NETWORK, removeAll, removeContainers } from './bench/docker.ts';
import { spawnGateway, type GatewayProcess } from '../test/support/gateway-process.ts';
import { agentOf, coldStart, concurrency, emailOf, hotPath, memory, streaming, type Bench, type Result } from './bench/phases.ts';
import { BENCH_PROVIDER, BENCH_PROVIDER_KEY, relayLatency } from './bench/relay.ts';
import { floor } from './bench/floor.ts';
import { culledStart } from './bench/culled.ts';
import { describeMachine, renderReport } from './bench/report.ts';
import { HOT_USER_PHASES, PHASE_TITLES, selectedPhases, type PhaseName } from './bench/plan.ts';
import { startFakeLlm, type FakeLlm } from '../agent/test/fake-llm.ts';
import { mib, MiB } from './bench/stats.ts';
import { buildImage, prepareBuild, REPO_ROOT } from './lib/images.ts';

/**
 * `--note "…"` adds a line to the report's header (e.g. what else the machine was running). The soak
 * of a whole class is `bun run bench:soak` (scripts/soak.ts), with its own report.
 * `--only floor,streaming` runs only those phases (plan.ts) and writes no file unless `--out PATH`
 * names one; a whole run writes docs/bench.md (or `--out`), after every phase.
 * `--connections 32` narrows the floor's closed-loop table (default 1,32,128; 32 is always run).
 * `--cpu-prof DIR` runs the gateway under `bun --cpu-prof`, its profile written to DIR on exit.
 */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}
// Checked before anything is built or started: a misspelt phase fails at once.
const phases = (() => {
  try {
    return selectedPhases(option('only'));
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
})();
const OUT = option('out') ?? (option('only') === undefined ? join(REPO_ROOT, 'docs/bench.md') : undefined);
const writeOut = async (report: string) => {
  if (OUT) await Bun.write(OUT, report);
};

/** The whole run is cut off (and cleaned up) after this long. */
const TIME_CAP_MS = 10 * 60_000;
const START_TIMEOUT_MS = 60_000;
const log = (line: string) => console.error(line);

let gateway: GatewayProcess | undefined;
let llm: FakeLlm | undefined;
let dataDir: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await gateway?.stop().catch(() => {});
    await llm?.stop().catch(() => {});
    await removeAll().catch((err) => log(`cleanup: ${err}`));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function abortWith(reason: string): void {
  log(`bench: ${reason}; cleaning up`);
  void cleanup().finally(() => process.exit(1));
}

async function main(): Promise<string> {
  const began = performance.now();
  log('bench: removing leftovers and building the test agent image');
  await removeContainers();
  // Its progress goes to stderr with the rest of the log; stdout is the report.
  await prepareBuild(log);
  await buildImage({ dockerfile: 'gateway/test/fixtures/Dockerfile', context: join(REPO_ROOT, 'gateway/test/fixtures'), tag: IMAGE, quiet: true });
  await createNetwork();
  dataDir = await mkdtemp(join(tmpdir(), 'nbbench-data-'));
  const configPath = join(dataDir, 'config.json');
  // The fixture agent never calls it; the relay phase does, through the gateway's relay and directly.
  llm = startFakeLlm({ chunkDelayMs: 1 });
  await writeFile(configPath, JSON.stringify({ providers: { [BENCH_PROVIDER]: { apiKey: BENCH_PROVIDER_KEY, apiBase: llm.url } }, agents: { defaults: { model: 'bench' } } }));
  const machine = await describeMachine(await foreignRunningContainers(), option('note'));

  const gatewayToken = 'nbbench-gateway-token';
  const agentTokenSecret = 'nbbench-agent-secret';
  const assertionSecret = 'nbbench-user-assertion-secret-of-32-characters';
  gateway = await spawnGateway(
    {
      PORT: '0',
      LISTEN_HOST: '127.0.0.1',
      GATEWAY_TOKEN: gatewayToken,
      AGENT_TOKEN_SECRET: agentTokenSecret,
      GATEWAY_TRUST_EMAIL_HEADER: '1',
      // The floor sends assertions as the web app does; the shared mode needs no sign-in sessions.
      USER_ASSERTION_SECRET: assertionSecret,
      LOCAL_AUTH_MODE: 'shared',
      GATEWAY_INSTANCE: INSTANCE,
      AGENT_IMAGE: IMAGE,
      AGENT_HOST_MODE: 'ip',
      NETWORK_NAME: NETWORK,
      DATA_DIR: dataDir,
      CONFIG_PATH: configPath,
      START_TIMEOUT_MS: String(START_TIMEOUT_MS),
      // The defaults, spelled out because the baseline containers get the same.
      AGENT_MEMORY: String(AGENT_LIMITS.memoryBytes),
      AGENT_CPUS: String(AGENT_LIMITS.cpus),
      AGENT_PIDS: String(AGENT_LIMITS.pids),
      // The default limit is 32 MiB; the memory measure streams 100 MiB.
      MAX_BODY_BYTES: String(128 * MiB),
      // One bench user stands for a whole class (128 connections, thousands of requests a second):
      // the per-student limits are on, so their cost is measured, but set too high to refuse any of it.
      USER_REQUESTS_PER_MINUTE: String(1e9),
      USER_MAX_CONNECTIONS: String(1e5),
      // The same for the relay's limits: checked on every LLM call as a school would have them, never reached.
      RELAY_TOKENS_PER_DAY: String(1e12),
      RELAY_GLOBAL_TOKENS_PER_DAY: String(1e12),
      RELAY_REQUESTS_PER_MINUTE: String(1e9),
      RELAY_PORT: '0',
    },
    join(dataDir, 'docker-calls.log'),
    option('cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${option('cpu-prof')}`] : [],
    // Its log to a file, as nginx's access log: a pipe drained by this busy process held the gateway up.
    join(dataDir, 'gateway.log'),
  );
  const bench: Bench = { gateway, gatewayToken, agentTokenSecret, assertionSecret, dataDir, configPath, run: crypto.randomUUID().slice(0, 8), startTimeoutMs: START_TIMEOUT_MS, log };

  const rssAtStart = gateway.rss();
  const results: Result[] = [];
  // The report is written after every phase, so a long or interrupted run still leaves the rows it has.
  const reportNow = (pending: readonly string[]) =>
    writeOut(renderReport(machine, results, (performance.now() - began) / 1_000, { only: option('only') !== undefined, pending }));
  const run = async (name: PhaseName, measure: () => Promise<Result>) => {
    if (!phases.includes(name)) return;
    log(`bench: ${PHASE_TITLES[name]}`);
    const result = await measure();
    results.push(result);
    for (const row of result.rows) log(`  ${row.measure}: ${row.value} vs ${row.baseline} (${row.ratio})`);
    await reportNow(phases.slice(phases.indexOf(name) + 1));
  };
  const hotUser = emailOf(bench, 'hot');
  const agentUrl = phases.some((name) => HOT_USER_PHASES.includes(name)) ? await agentOf(bench, hotUser) : '';
  await run('hotpath', () => hotPath(bench, hotUser, agentUrl));
  await run('floor', () => floor(bench, hotUser, agentUrl, option('connections')?.split(',').map(Number)));
  const rssAfterHotPath = gateway.rss();
  await run('streaming', () => streaming(bench, hotUser, agentUrl));
  await run('relay', () => relayLatency(bench, hotUser, llm!));
  // Memory before the cold starts, while only one agent runs beside the gateway.
  await run('memory', () => memory(bench, hotUser));
  // Without the cold phase (`--only concurrency`) the "one cold start" baseline reads n/a.
  let singleColdStart = NaN;
  await run('cold', async () => {
    const cold = await coldStart(bench);
    singleColdStart = cold.gatewayMedian;
    return cold;
  });
  await run('concurrency', () => concurrency(bench, singleColdStart));
  await run('culled', () => culledStart(bench));
  results.push({
    rows: [],
    notes: [`Gateway RSS: ${mib(rssAtStart)} after start, ${mib(rssAfterHotPath)} after the hot path, ${mib(gateway.rss())} at the end with ${gateway.dockerCalls().length} Docker API calls made in all.`],
  });
  return renderReport(machine, results, (performance.now() - began) / 1_000, { only: option('only') !== undefined, pending: [] });
}

const cap = setTimeout(() => abortWith(`over the ${TIME_CAP_MS / 60_000} min time cap`), TIME_CAP_MS);
process.once('SIGINT', () => abortWith('interrupted'));
process.once('SIGTERM', () => abortWith('terminated'));

try {
  const report = await main();
  await writeOut(report);
  console.log(report);
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(cap);
  await cleanup();
}
