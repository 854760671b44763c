/**
 * The soak (issue 17, `bun run bench:soak`): a class of students, each with a real reference-agent
 * container, using the tutor for several minutes: they arrive over a few minutes (their first
 * request starts their agent), then chat (streamed through the LLM relay to the fake provider),
 * list sessions and files, upload, download and delete files and read their memory. Every answer
 * must be one the real web client handles gracefully (web-client.ts), and the gateway's memory must
 * stay flat while the load does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { identityFor } from '../../gateway/src/identity.ts';
import { instanceFilterArgs } from '../../gateway/src/runtime/labels.ts';
import { spawnGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { docker, NETWORK, SOAK_INSTANCE, TUTOR_IMAGE } from './docker.ts';
import type { Result, Row } from './phases.ts';
import { median, mib, MiB, ms, quantile, ratio } from './stats.ts';
import { asBrowserSees, STARTING_PATIENCE_MS, whileStarting } from './web-client.ts';

export type SoakOptions = {
  students: number;
  /** Students arrive at random moments over this many seconds, as a class signing in does. */
  arrivalSeconds: number;
  /** How long every student is active at once, after the last one's first answer. */
  seconds: number;
  /** A student's pause between two actions (reading, typing), drawn evenly from this range. */
  thinkSeconds: { min: number; max: number };
  /** The memory limit of each agent container (AGENT_MEMORY). */
  agentMemory: string;
  /** MAX_CONCURRENT_SPAWNS for the gateway; undefined keeps its default. */
  spawns?: number;
  dataDir: string;
  run: string;
  log: (line: string) => void;
};

/** A guard for the harness only: the web client itself sets no deadline on a request. */
const REQUEST_TIMEOUT_MS = 5 * 60_000;
const SAMPLE_EVERY_MS = 2_000;
const GATEWAY_TOKEN = 'nbbench-soak-token';
const PROVIDER_KEY = 'nbbench-soak-provider-key';

type Kind = 'chat (SSE)' | 'sessions' | 'file list' | 'upload' | 'file download' | 'file delete' | 'memory';
/** How often each action comes up, out of the sum. */
const MIX: [Kind, number][] = [
  ['chat (SSE)', 35],
  ['sessions', 15],
  ['file list', 15],
  ['upload', 10],
  ['file download', 10],
  ['file delete', 5],
  ['memory', 10],
];
const MIX_TOTAL = MIX.reduce((sum, [, weight]) => sum + weight, 0);

/** `at`: when the action began; `waited`: `starting` answers waited out before the final one. */
type Outcome = { kind: Kind | 'arrival'; ms: number; at: number; waited: number; error?: string };

function pick(): Kind {
  let r = Math.random() * MIX_TOTAL;
  for (const [kind, weight] of MIX) if ((r -= weight) < 0) return kind;
  return MIX[0]![0];
}

const randomBetween = (min: number, max: number) => min + Math.random() * (max - min);

class Student {
  readonly uploads: string[] = [];
  private uploaded = 0;
  /** `starting` answers waited out during the current action. */
  waited = 0;

  constructor(
    readonly email: string,
    private readonly gateway: string,
  ) {}

  /** A gateway call as the web app makes it, and the answer as the browser sees it. */
  private async call(path: string, init: RequestInit = {}, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(`${this.gateway}${path}`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...init,
      headers: { Authorization: `Bearer ${GATEWAY_TOKEN}`, 'X-User-Email': this.email, ...headers },
    });
    return asBrowserSees(res);
  }

  /** The browser retries these two, as useTutor does: the page's first load and a question. */
  private patiently<T>(attempt: () => Promise<T>): Promise<T> {
    return whileStarting(attempt, { onStarting: () => (this.waited += 1) });
  }

  /** What the page does when it opens (useTutor's restore): sessions and files, which start the agent. */
  arrive(): Promise<unknown> {
    return this.patiently(async () => {
      await this.expect('/sessions', (body) => Array.isArray(JSON.parse(body).sessions));
      await this.expect('/files', (body) => Array.isArray(JSON.parse(body)) || Array.isArray(JSON.parse(body).files));
    });
  }

  async act(kind: Kind): Promise<unknown> {
    switch (kind) {
      case 'chat (SSE)':
        return this.patiently(() => this.chat());
      case 'sessions':
        return this.expect('/sessions', (body) => Array.isArray(JSON.parse(body).sessions));
      case 'file list':
        return this.expect('/files', (body) => Array.isArray(JSON.parse(body)) || Array.isArray(JSON.parse(body).files));
      case 'memory':
        return this.expect('/memory', (body) => typeof JSON.parse(body).memory === 'string');
      case 'upload':
        return this.upload();
      case 'file download': {
        const path = this.uploads[Math.floor(Math.random() * this.uploads.length)];
        if (!path) return this.upload();
        return this.expect(`/files/${path}`, (body) => body.startsWith('soak '));
      }
      case 'file delete': {
        const path = this.uploads.shift();
        if (!path) return this.upload();
        return this.expect(`/files/${path}`, (body) => JSON.parse(body).deleted === path, { method: 'DELETE' });
      }
    }
  }

  private async expect(path: string, valid: (body: string) => boolean, init: RequestInit = {}, headers: Record<string, string> = {}): Promise<string> {
    const res = await this.call(path, init, headers);
    const body = await res.text();
    let ok = false;
    try {
      ok = res.status === 200 && valid(body);
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`${res.status} ${body.slice(0, 200)}`);
    return body;
  }

  private async upload(): Promise<void> {
    this.uploaded += 1;
    const content = `soak ${this.email} ${this.uploaded} ${'x'.repeat(Math.floor(randomBetween(1_000, 64_000)))}`;
    const body = await this.expect(
      '/uploads',
      (text) => (JSON.parse(text).saved_files as string[]).length === 1,
      { method: 'POST', body: JSON.stringify({ files: [{ name: `soak-${this.uploaded}.txt`, content_base64: Buffer.from(content).toString('base64') }] }) },
      { 'Content-Type': 'application/json' },
    );
    this.uploads.push((JSON.parse(body).saved_files as string[])[0]!);
  }

  /** A streamed answer, read to its end: it must end with `done` and carry no `error` event. */
  private async chat(): Promise<void> {
    const session = `soak-${Math.floor(Math.random() * 3)}`;
    const res = await this.call(
      '/chat',
      { method: 'POST', body: JSON.stringify({ message: `Question ${Math.floor(Math.random() * 1e6)}: what is energy?` }) },
      { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-Session-ID': session },
    );
    const body = await res.text();
    if (res.status !== 200 || !res.headers.get('content-type')?.includes('text/event-stream')) throw new Error(`${res.status} ${body.slice(0, 200)}`);
    const events = [...body.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
    if (events.includes('error') || events.at(-1) !== 'done') throw new Error(`stream ended with ${events.at(-1) ?? 'nothing'}: ${body.slice(-200)}`);
  }
}

async function timed(student: Student, kind: Outcome['kind'], action: () => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  student.waited = 0;
  try {
    await action();
    return { kind, ms: performance.now() - started, at: started, waited: student.waited };
  } catch (err) {
    return { kind, ms: performance.now() - started, at: started, waited: student.waited, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Memory of each of the soak's agent containers in bytes, from `docker stats`. */
async function agentMemory(): Promise<number[]> {
  const ids = (await docker(['ps', '-q', ...instanceFilterArgs(SOAK_INSTANCE)])).split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const out = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', ...ids]);
  const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: MiB, GiB: 1024 * MiB };
  return out.split('\n').map((line) => {
    const match = /^([\d.]+)(B|KiB|MiB|GiB)/.exec(line.trim());
    return match ? Number(match[1]) * unit[match[2]!]! : NaN;
  });
}

/** Running containers that are not the soak's: other work sharing the engine. */
export async function otherContainers(): Promise<number> {
  const all = (await docker(['ps', '-q'])).split('\n').filter(Boolean).length;
  const own = (await docker(['ps', '-q', ...instanceFilterArgs(SOAK_INSTANCE)])).split('\n').filter(Boolean).length;
  return all - own;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Host memory in use (MemTotal - MemAvailable), for how much room the agents take. */
function hostMemoryUsed(): number {
  const info = Bun.spawnSync(['cat', '/proc/meminfo']).stdout.toString();
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN) * 1024;
  return field('MemTotal') - field('MemAvailable');
}

const loadSummary = (samples: number[]) =>
  samples.length ? `${Math.min(...samples).toFixed(1)}-${Math.max(...samples).toFixed(1)} (mean ${mean(samples).toFixed(1)})` : 'n/a';

/** The soak's gateway while it runs, so an interrupted run can stop it before removing its agents. */
let current: GatewayProcess | undefined;

export async function stopSoakGateway(): Promise<void> {
  await current?.stop().catch(() => {});
}

export async function soak(options: SoakOptions): Promise<Result> {
  const { students: count, seconds, arrivalSeconds, thinkSeconds: think, log } = options;
  const dataDir = join(options.dataDir, 'soak');
  await mkdir(dataDir, { recursive: true });
  const configPath = join(dataDir, 'config.json');
  let llm: FakeLlm | undefined;
  let gateway: GatewayProcess | undefined;
  const hostBefore = hostMemoryUsed();
  try {
    // A streamed answer arrives in pieces over a few hundred milliseconds, as a real model's would.
    llm = startFakeLlm({ chunkDelayMs: 40 });
    await writeFile(configPath, JSON.stringify({
      providers: { custom: { apiKey: PROVIDER_KEY, apiBase: llm.url } },
      agents: { defaults: { model: 'soak-tutor', maxTokens: 256, temperature: 0, memoryWindow: 20, maxToolIterations: 4 } },
    }));
    // The gateway's defaults (START_TIMEOUT_MS, MAX_CONCURRENT_SPAWNS, per-student limits) but for what a soak must set.
    gateway = await spawnGateway({
      PORT: '0',
      LISTEN_HOST: '127.0.0.1',
      GATEWAY_TOKEN,
      AGENT_TOKEN_SECRET: 'nbbench-soak-secret',
      GATEWAY_TRUST_EMAIL_HEADER: '1',
      GATEWAY_INSTANCE: SOAK_INSTANCE,
      AGENT_IMAGE: TUTOR_IMAGE,
      AGENT_HOST_MODE: 'ip',
      NETWORK_NAME: NETWORK,
      DATA_DIR: dataDir,
      CONFIG_PATH: configPath,
      AGENT_MEMORY: options.agentMemory,
      ...(options.spawns ? { MAX_CONCURRENT_SPAWNS: String(options.spawns) } : {}),
      RELAY_PORT: '0',
    });
    const gw = (current = gateway);
    const samples: { at: number; rss: number; load: number }[] = [];
    const began = performance.now();
    const sampler = setInterval(() => samples.push({ at: performance.now(), rss: gw.rss(), load: loadavg()[0]! }), SAMPLE_EVERY_MS);
    const rssAtStart = gw.rss();

    const students = Array.from({ length: count }, (_, i) => new Student(`nbbench-soak-${i}.${options.run}@example.com`, gw.url));
    const outcomes: Outcome[] = [];
    const arrivals: Outcome[] = [];
    let steadyFrom = Infinity;
    let steadyUntil = Infinity;
    const allUp = Promise.withResolvers<void>();
    let up = 0;

    const live = async (student: Student, arriveAfterMs: number) => {
      await Bun.sleep(arriveAfterMs);
      const arrival = await timed(student, 'arrival', () => student.arrive());
      arrivals.push(arrival);
      if ((up += 1) === count) allUp.resolve();
      if (arrival.error) return;
      while (performance.now() < steadyUntil) {
        await Bun.sleep(randomBetween(think.min, think.max) * 1_000);
        if (performance.now() >= steadyUntil) break;
        const kind = pick();
        outcomes.push(await timed(student, kind, () => student.act(kind)));
      }
    };

    const progress = setInterval(
      () => log(`  soak: ${up}/${count} arrived, ${outcomes.length} actions, ${[...arrivals, ...outcomes].filter((o) => o.error).length} unexpected, gateway RSS ${mib(gw.rss())}, load ${loadavg()[0]!.toFixed(1)}`),
      30_000,
    );
    // Each student opens the page at a random moment of the arrival window and gets busy at once.
    const running = students.map((student) => live(student, Math.random() * arrivalSeconds * 1_000));
    await allUp.promise;
    const arrivedAt = performance.now();
    steadyFrom = arrivedAt;
    steadyUntil = arrivedAt + seconds * 1_000;
    const hostWithAgents = hostMemoryUsed();
    const memoryAtArrival = await agentMemory();
    log(`  soak: all ${count} students arrived after ${Math.round((arrivedAt - began) / 1000)} s; ${seconds} s of steady load`);
    const cpuBefore = gw.cpuSeconds();
    await Promise.all(running);
    clearInterval(progress);
    clearInterval(sampler);
    const cpu = gw.cpuSeconds() - cpuBefore;
    const memoryAtEnd = await agentMemory();
    const containers = (await docker(['ps', '-q', ...instanceFilterArgs(SOAK_INSTANCE)])).split('\n').filter(Boolean).length;
    const ids = new Set(students.map((s) => identityFor(s.email).id));
    const othersAtEnd = await otherContainers();

    const all = [...arrivals, ...outcomes];
    const errors = all.filter((o) => o.error);
    const waited = all.reduce((sum, o) => sum + o.waited, 0);
    const inWindow = outcomes.filter((o) => o.at >= steadyFrom).length;
    const window = samples.filter((s) => s.at >= steadyFrom && s.at <= steadyUntil);
    const firstMinute = window.filter((s) => s.at < steadyFrom + 60_000).map((s) => s.rss);
    const lastMinute = window.filter((s) => s.at > steadyUntil - 60_000).map((s) => s.rss);
    const peak = Math.max(...samples.map((s) => s.rss));
    const steadySeconds = (Math.min(performance.now(), steadyUntil) - steadyFrom) / 1_000;
    const arrivalMs = arrivals.map((o) => o.ms);

    const rows: Row[] = [
      { measure: `Students, each with a reference-agent container of their own (AGENT_MEMORY ${options.agentMemory})`, value: String(containers), baseline: `${count} (expected)`, ratio: containers === count && ids.size === count ? 'ok' : 'WRONG' },
      { measure: `Unexpected answers (ones the web client shows as an error) over ${all.length} actions`, value: String(errors.length), baseline: '0 (expected)', ratio: errors.length === 0 ? 'ok' : 'WRONG' },
      { measure: '`starting` answers (503/504/429) the web client waited out and retried, within its patience', value: String(waited), baseline: '–', ratio: '–' },
      { measure: 'Gateway RSS, mean of the last minute vs the first minute of the steady load', value: mib(mean(lastMinute)), baseline: mib(mean(firstMinute)), ratio: ratio(mean(lastMinute), mean(firstMinute)) },
      { measure: 'Gateway RSS, peak over the whole soak vs right after start', value: mib(peak), baseline: mib(rssAtStart), ratio: ratio(peak, rssAtStart) },
      { measure: 'Page opened to sessions and files shown (its first request starts the agent), p50 and p99', value: `p50 ${ms(median(arrivalMs))}`, baseline: `p99 ${ms(quantile(arrivalMs, 0.99))}`, ratio: '–' },
      { measure: 'Agent container memory, median at the end vs when all had arrived', value: mib(median(memoryAtEnd)), baseline: mib(median(memoryAtArrival)), ratio: ratio(median(memoryAtEnd), median(memoryAtArrival)) },
      { measure: 'Agent container memory, largest at the end vs when all had arrived', value: mib(Math.max(...memoryAtEnd)), baseline: mib(Math.max(...memoryAtArrival)), ratio: ratio(Math.max(...memoryAtEnd), Math.max(...memoryAtArrival)) },
    ];
    const kinds: Outcome['kind'][] = ['arrival', ...MIX.map(([k]) => k)];
    const table = [
      '| action | requests | unexpected | `starting` waited out | p50 | p99 |',
      '|---|---:|---:|---:|---:|---:|',
      ...kinds.map((kind) => {
        const of = all.filter((o) => o.kind === kind);
        const name = kind === 'arrival' ? 'page opened (GET /sessions + /files; the first starts the agent)' : kind;
        return `| ${name} | ${of.length} | ${of.filter((o) => o.error).length} | ${of.reduce((sum, o) => sum + o.waited, 0)} | ${ms(median(of.map((o) => o.ms)))} | ${ms(quantile(of.map((o) => o.ms), 0.99))} |`;
      }),
    ];
    const rssSeries = window.filter((_, i) => i % 15 === 0).map((s) => `${Math.round((s.at - steadyFrom) / 1000)} s ${(s.rss / MiB).toFixed(0)}`);
    const arriving = samples.filter((s) => s.at < steadyFrom).map((s) => s.load);
    const notes = [
      `${count} simulated students, each with its own agent container of the reference agent (\`agent/\`, built as ${TUTOR_IMAGE}) limited to ${options.agentMemory}. Each opens the page at a random moment of the first ${arrivalSeconds} s (the page's first requests start the agent; the gateway queues starts as its MAX_CONCURRENT_SPAWNS says) and gets busy at once; once all have arrived every one keeps acting for ${seconds} s more, pausing ${think.min}-${think.max} s between actions: ${MIX.map(([k, w]) => `${k} ${Math.round((w / MIX_TOTAL) * 100)} %`).join(', ')}. Chats stream through the gateway's LLM relay to the fake OpenAI-compatible provider (40 ms between chunks).`,
      `The gateway runs with its defaults (START_TIMEOUT_MS, ${options.spawns ? '' : 'MAX_CONCURRENT_SPAWNS, '}USER_REQUESTS_PER_MINUTE, USER_MAX_CONNECTIONS) except AGENT_MEMORY${options.spawns ? ` and MAX_CONCURRENT_SPAWNS ${options.spawns}` : ''}; every answer passes through the web app's own mapping and retry code (scripts/bench/web-client.ts): the page's first load and a question wait out \`starting\` for up to ${STARTING_PATIENCE_MS / 1000} s as useTutor does, every other action shows any failure at once.`,
      `${outcomes.length} actions besides the page openings (a student starts acting once their page has opened, while others still arrive), ${inWindow} of them in the ${Math.round(steadySeconds)} s with all ${count} at once (${(inWindow / steadySeconds).toFixed(1)} per second); the fake provider answered ${llm.requests.length} calls, all with the real key: ${new Set(llm.apiKeys).size === 1 && llm.apiKeys[0] === PROVIDER_KEY ? 'yes' : 'NO'}. Gateway CPU during the steady load: ${cpu.toFixed(1)} s (${((cpu / steadySeconds) * 100).toFixed(0)} % of one core). All arrived ${Math.round((arrivedAt - began) / 1000)} s after the first could.`,
      `Load average (1 min) while students arrived: ${loadSummary(arriving)}; during the steady load: ${loadSummary(window.map((s) => s.load))}. Other running containers on the engine at the end: ${othersAtEnd}.`,
      `Memory: the host used ${mib(hostBefore)} before the soak and ${mib(hostWithAgents)} with all ${count} agents up (${mib((hostWithAgents - hostBefore) / count)} per student, agents and gateway together); agent containers ${mib(Math.min(...memoryAtEnd))}-${mib(Math.max(...memoryAtEnd))} at the end (docker stats, page cache included). Gateway RSS during the steady load, MiB every ${(SAMPLE_EVERY_MS * 15) / 1000} s: ${rssSeries.join(', ')}.`,
      ...(errors.length ? [`Unexpected answers (first 5): ${errors.slice(0, 5).map((o) => `${o.kind}: ${o.error}`).join(' | ')}`] : []),
    ];
    return { rows, notes, sections: [{ title: `${count} students, mixed traffic, ${seconds} s with all at once`, lines: table }] };
  } finally {
    await gateway?.stop().catch(() => {});
    await llm?.stop().catch(() => {});
  }
}
