/**
 * `bun run bench:soak`: a class of students on the real gateway, each with a reference-agent
 * container of their own, for several minutes of mixed traffic (scripts/bench/soak.ts), and
 * writes docs/soak.md. Apart from `bun run bench` so each runs and is committed on its own; never
 * in `bun run test`. Everything it creates (containers of instance `nbbench-soak`, the network, the
 * image, the data folders) is removed at the end, also on failure or interruption.
 *
 * Options: `--students N` (200), `--arrival-seconds S` (900: the students arrive over
 * fifteen minutes; a loaded 2-core machine starts about 20 reference agents a minute, docs/soak.md),
 * `--seconds S` (300 of all students at once), `--think MIN-MAX` (seconds between a student's
 * actions, 3-12), `--agent-memory` (128m), `--spawns N` (MAX_CONCURRENT_SPAWNS; the gateway's default
 * when not given), `--note "…"` (what else the machine ran, for the header),
 * `--out PATH` (docs/soak.md; a trial run can write elsewhere).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceFilterArgs } from '../gateway/src/runtime/labels.ts';
import { createNetwork, docker, NETWORK, SOAK_INSTANCE, TUTOR_IMAGE } from './bench/docker.ts';
import { describeMachine } from './bench/report.ts';
import { otherContainers, soak, stopSoakGateway, type SoakOptions } from './bench/soak.ts';
import { renderSoakReport } from './bench/soak-report.ts';
import { buildImage, prepareBuild, REPO_ROOT } from './lib/images.ts';
import { capture } from './lib/run.ts';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

const [thinkMin, thinkMax] = (option('think') ?? '3-12').split('-').map(Number);
const settings: Omit<SoakOptions, 'dataDir' | 'run' | 'log'> = {
  students: Number(option('students') ?? 200),
  arrivalSeconds: Number(option('arrival-seconds') ?? 900),
  seconds: Number(option('seconds') ?? 300),
  thinkSeconds: { min: thinkMin ?? 3, max: thinkMax ?? 12 },
  agentMemory: option('agent-memory') ?? '128m',
  spawns: option('spawns') ? Number(option('spawns')) : undefined,
};
const out = option('out') ?? join(REPO_ROOT, 'docs/soak.md');
/** The run is cut off (and cleaned up) after the arrivals, the steady load and this much more for cold starts and cleanup. */
const TIME_CAP_MS = (settings.arrivalSeconds + settings.seconds) * 1_000 + 20 * 60_000;
const log = (line: string) => console.error(line);

let dataDir: string | undefined;
let cleaning: Promise<void> | undefined;

async function removeSoakContainers(): Promise<void> {
  const ids = (await docker(['ps', '-aq', ...instanceFilterArgs(SOAK_INSTANCE)])).split('\n').filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    log('soak: removing its containers, network, image and data');
    // First the gateway, so it neither starts agents nor answers while they go.
    await stopSoakGateway();
    await removeSoakContainers().catch((err) => log(`cleanup: ${err}`));
    // The bench's own containers may still use the network when both ran; it is then left for the bench.
    await capture(['docker', 'network', 'rm', NETWORK]);
    await capture(['docker', 'image', 'rm', TUTOR_IMAGE]);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function abortWith(reason: string): void {
  log(`soak: ${reason}; cleaning up`);
  void cleanup().finally(() => process.exit(1));
}

async function main(): Promise<string> {
  const began = performance.now();
  log('soak: removing leftovers and building the reference agent image');
  await removeSoakContainers();
  await prepareBuild(log);
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TUTOR_IMAGE, quiet: true });
  await createNetwork();
  dataDir = await mkdtemp(join(tmpdir(), 'nbbench-soak-'));
  const machine = await describeMachine(await otherContainers(), option('note'));
  log(`soak: ${settings.students} students arriving over ${settings.arrivalSeconds} s, then ${settings.seconds} s all at once`);
  const result = await soak({ ...settings, dataDir, run: crypto.randomUUID().slice(0, 8), log });
  return renderSoakReport(machine, result, (performance.now() - began) / 1_000);
}

const cap = setTimeout(() => abortWith(`over the ${TIME_CAP_MS / 60_000} min time cap`), TIME_CAP_MS);
process.once('SIGINT', () => abortWith('interrupted'));
process.once('SIGTERM', () => abortWith('terminated'));

try {
  const report = await main();
  await Bun.write(out, report);
  console.log(report);
} catch (err) {
  log(`soak failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(cap);
  await cleanup();
}
