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
import { startFakeLlm, type FakeLlm } from '../agent/test/fake-llm.ts';
import { mib, MiB } from './bench/stats.ts';
import { buildImage, prepareBuild, REPO_ROOT } from './lib/images.ts';

/**
 * `--note "…"` adds a line to the report's header (e.g. what else the machine was running). The soak
 * of a whole class is `bun run bench:soak` (scripts/soak.ts), with its own report.
 */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}
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
      // the per-student limits (0 = none) would refuse most of it. The soak keeps the defaults.
      USER_REQUESTS_PER_MINUTE: '0',
      USER_MAX_CONNECTIONS: '0',
      RELAY_PORT: '0',
    },
    join(dataDir, 'docker-calls.log'),
  );
  const bench: Bench = { gateway, gatewayToken, agentTokenSecret, assertionSecret, dataDir, configPath, run: crypto.randomUUID().slice(0, 8), startTimeoutMs: START_TIMEOUT_MS, log };

  const rssAtStart = gateway.rss();
  const hotUser = emailOf(bench, 'hot');
  const agentUrl = await agentOf(bench, hotUser);
  const results: Result[] = [];
  log('bench: hot path');
  results.push(await hotPath(bench, hotUser, agentUrl));
  log('bench: the hot path against the floor');
  results.push(await floor(bench, hotUser, agentUrl));
  const rssAfterHotPath = gateway.rss();
  log('bench: streaming');
  results.push(await streaming(bench, hotUser, agentUrl));
  log('bench: LLM relay');
  results.push(await relayLatency(bench, hotUser, llm));
  // Memory before the cold starts, while only one agent runs beside the gateway.
  log('bench: memory');
  const memoryResult = await memory(bench, hotUser);
  log('bench: cold starts');
  const cold = await coldStart(bench);
  results.push(cold);
  log('bench: concurrency');
  results.push(await concurrency(bench, cold.gatewayMedian));
  log('bench: culled agent, with and without start-on-sign-in');
  results.push(await culledStart(bench));
  results.push(memoryResult);
  results.push({
    rows: [],
    notes: [`Gateway RSS: ${mib(rssAtStart)} after start, ${mib(rssAfterHotPath)} after the hot path, ${mib(gateway.rss())} at the end with ${gateway.dockerCalls().length} Docker API calls made in all.`],
  });

  return renderReport(machine, results, (performance.now() - began) / 1_000);
}

const cap = setTimeout(() => abortWith(`over the ${TIME_CAP_MS / 60_000} min time cap`), TIME_CAP_MS);
process.once('SIGINT', () => abortWith('interrupted'));
process.once('SIGTERM', () => abortWith('terminated'));

try {
  const report = await main();
  await Bun.write(join(REPO_ROOT, 'docs/bench.md'), report);
  console.log(report);
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(cap);
  await cleanup();
}
