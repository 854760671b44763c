/**
 * The soak (issue 17, `bun run bench -- --soak`): many students, each with a real reference-agent
 * container, using the tutor as a class would for several minutes: streamed chats through the LLM
 * relay to the fake provider, files, sessions, memory, uploads. Every answer must be the expected
 * one, and the gateway's memory must stay flat while the load does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { identityFor } from '../../gateway/src/identity.ts';
import { spawnGateway, type GatewayProcess } from '../../test/support/gateway-process.ts';
import { docker, NETWORK, SOAK_INSTANCE, TUTOR_IMAGE } from './docker.ts';
import type { Result, Row } from './phases.ts';
import { median, mib, MiB, ms, quantile, ratio } from './stats.ts';
import { instanceFilterArgs } from '../../gateway/src/runtime/labels.ts';

export type SoakOptions = {
  students: number;
  /** How long every student is active at once, after the last one's agent is up. */
  seconds: number;
  /** The memory limit of each agent container (AGENT_MEMORY). */
  agentMemory: string;
  dataDir: string;
  run: string;
  log: (line: string) => void;
};

/** Students whose first request (their agent's cold start) is under way at once. */
const ARRIVING_AT_ONCE = 8;
/** A student's pause between two actions: reading, typing. */
const THINK_MS = { min: 1_000, max: 4_000 };
const FIRST_REQUEST_TIMEOUT_MS = 300_000;
const REQUEST_TIMEOUT_MS = 60_000;
const RSS_EVERY_MS = 2_000;
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

/** `at`: when the action began, so the steady window's rate counts only its own actions. */
type Outcome = { kind: Kind; ms: number; at: number; error?: string };

function pick(): Kind {
  let r = Math.random() * MIX_TOTAL;
  for (const [kind, weight] of MIX) if ((r -= weight) < 0) return kind;
  return MIX[0]![0];
}

const randomBetween = (min: number, max: number) => min + Math.random() * (max - min);

class Student {
  readonly uploads: string[] = [];
  private uploaded = 0;

  constructor(
    readonly email: string,
    private readonly gateway: string,
  ) {}

  private call(path: string, init: RequestInit = {}, headers: Record<string, string> = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    return fetch(`${this.gateway}${path}`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...init,
      headers: { Authorization: `Bearer ${GATEWAY_TOKEN}`, 'X-User-Email': this.email, ...headers },
    });
  }

  /** What the web app does when the page opens: the session list, which starts the agent. */
  async arrive(): Promise<void> {
    const res = await this.call('/sessions', {}, {}, FIRST_REQUEST_TIMEOUT_MS);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${res.status} ${body.slice(0, 200)}`);
  }

  async act(kind: Kind): Promise<void> {
    switch (kind) {
      case 'chat (SSE)':
        return this.chat();
      case 'sessions':
        return this.expect(await this.call('/sessions'), (body) => Array.isArray(JSON.parse(body).sessions));
      case 'file list':
        return this.expect(await this.call('/files'), (body) => Array.isArray(JSON.parse(body)) || Array.isArray(JSON.parse(body).files));
      case 'memory':
        return this.expect(await this.call('/memory'), (body) => typeof JSON.parse(body).memory === 'string');
      case 'upload':
        return this.upload();
      case 'file download': {
        const path = this.uploads[Math.floor(Math.random() * this.uploads.length)];
        if (!path) return this.upload();
        return this.expect(await this.call(`/files/${path}`), (body) => body.startsWith('soak '));
      }
      case 'file delete': {
        const path = this.uploads.shift();
        if (!path) return this.upload();
        return this.expect(await this.call(`/files/${path}`, { method: 'DELETE' }), (body) => JSON.parse(body).deleted === path);
      }
    }
  }

  private async expect(res: Response, valid: (body: string) => boolean): Promise<void> {
    const body = await res.text();
    let ok = false;
    try {
      ok = res.status === 200 && valid(body);
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`${res.status} ${body.slice(0, 200)}`);
  }

  private async upload(): Promise<void> {
    this.uploaded += 1;
    const content = `soak ${this.email} ${this.uploaded} ${'x'.repeat(Math.floor(randomBetween(1_000, 64_000)))}`;
    const res = await this.call(
      '/uploads',
      { method: 'POST', body: JSON.stringify({ files: [{ name: `soak-${this.uploaded}.txt`, content_base64: Buffer.from(content).toString('base64') }] }) },
      { 'Content-Type': 'application/json' },
    );
    let saved: string[] = [];
    await this.expect(res, (body) => (saved = JSON.parse(body).saved_files as string[]).length === 1);
    this.uploads.push(saved[0]!);
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

async function timed(kind: Kind, action: () => Promise<void>): Promise<Outcome> {
  const started = performance.now();
  try {
    await action();
    return { kind, ms: performance.now() - started, at: started };
  } catch (err) {
    return { kind, ms: performance.now() - started, at: started, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Memory of each of this instance's agent containers in bytes, from `docker stats`. */
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

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Host memory in use (MemTotal - MemAvailable), for how much room 200 agents take. */
function hostMemoryUsed(): number {
  const info = Bun.spawnSync(['cat', '/proc/meminfo']).stdout.toString();
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? NaN) * 1024;
  return field('MemTotal') - field('MemAvailable');
}

export async function soak(options: SoakOptions): Promise<Result> {
  const { students: count, seconds, log } = options;
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
      START_TIMEOUT_MS: '120000',
      RELAY_PORT: '0',
    });
    const gw = gateway;
    const rss: { at: number; bytes: number }[] = [];
    const began = performance.now();
    const sampler = setInterval(() => rss.push({ at: performance.now(), bytes: gw.rss() }), RSS_EVERY_MS);
    const rssAtStart = gw.rss();

    const students = Array.from({ length: count }, (_, i) => new Student(`nbbench-soak-${i}.${options.run}@example.com`, gw.url));
    const outcomes: Outcome[] = [];
    const arrivals: Outcome[] = [];
    let steadyFrom = Infinity;
    let steadyUntil = Infinity;
    const allUp = Promise.withResolvers<void>();
    let up = 0;

    const live = async (student: Student, arrived: () => void) => {
      const arrival = await timed('sessions', () => student.arrive());
      arrivals.push(arrival);
      arrived();
      if ((up += 1) === count) allUp.resolve();
      if (arrival.error) return;
      while (performance.now() < steadyUntil) {
        await Bun.sleep(randomBetween(THINK_MS.min, THINK_MS.max));
        if (performance.now() >= steadyUntil) break;
        const kind = pick();
        outcomes.push(await timed(kind, () => student.act(kind)));
      }
    };

    // Students arrive a few at a time (their cold starts queue in the gateway anyway) and get busy at once.
    const running: Promise<void>[] = [];
    let next = 0;
    const door = async () => {
      while (next < count) {
        const student = students[next++]!;
        const arrived = Promise.withResolvers<void>();
        running.push(live(student, arrived.resolve));
        await arrived.promise;
        if (up % 25 === 0) log(`  soak: ${up}/${count} students arrived`);
      }
    };
    await Promise.all(Array.from({ length: ARRIVING_AT_ONCE }, door));
    await allUp.promise;
    const arrivedAt = performance.now();
    steadyFrom = arrivedAt;
    steadyUntil = arrivedAt + seconds * 1_000;
    const hostWithAgents = hostMemoryUsed();
    const memoryAtArrival = await agentMemory();
    log(`  soak: all ${count} students arrived after ${Math.round((arrivedAt - began) / 1000)} s; ${seconds} s of steady load`);
    const cpuBefore = gw.cpuSeconds();
    const progress = setInterval(() => log(`  soak: ${outcomes.length} actions, ${outcomes.filter((o) => o.error).length} errors, gateway RSS ${mib(gw.rss())}`), 30_000);
    await Promise.all(running);
    clearInterval(progress);
    clearInterval(sampler);
    const cpu = gw.cpuSeconds() - cpuBefore;
    const memoryAtEnd = await agentMemory();
    const containers = (await docker(['ps', '-q', ...instanceFilterArgs(SOAK_INSTANCE)])).split('\n').filter(Boolean).length;
    const ids = new Set(students.map((s) => identityFor(s.email).id));

    const steady = outcomes;
    const inWindow = outcomes.filter((o) => o.at >= steadyFrom).length;
    const errors = [...arrivals, ...steady].filter((o) => o.error);
    const window = rss.filter((s) => s.at >= steadyFrom && s.at <= steadyUntil);
    const firstMinute = window.filter((s) => s.at < steadyFrom + 60_000).map((s) => s.bytes);
    const lastMinute = window.filter((s) => s.at > steadyUntil - 60_000).map((s) => s.bytes);
    const peak = Math.max(...rss.map((s) => s.bytes));
    const steadySeconds = (Math.min(performance.now(), steadyUntil) - steadyFrom) / 1_000;

    const rows: Row[] = [
      { measure: `Soak: students, each with a reference-agent container of their own (AGENT_MEMORY ${options.agentMemory})`, value: String(containers), baseline: `${count} (expected)`, ratio: containers === count && ids.size === count ? 'ok' : 'WRONG' },
      { measure: `Soak: unexpected answers over ${arrivals.length + steady.length} requests (${seconds} s of ${count} students at once, after all arrived)`, value: String(errors.length), baseline: '0 (expected)', ratio: errors.length === 0 ? 'ok' : 'WRONG' },
      { measure: 'Soak: gateway RSS, mean of the last minute vs the first minute of the steady load', value: mib(mean(lastMinute)), baseline: mib(mean(firstMinute)), ratio: ratio(mean(lastMinute), mean(firstMinute)) },
      { measure: 'Soak: gateway RSS, peak over the whole soak vs right after start', value: mib(peak), baseline: mib(rssAtStart), ratio: ratio(peak, rssAtStart) },
      { measure: `Soak: time until all ${count} students were served their first answer (cold starts, ${ARRIVING_AT_ONCE} arriving at once)`, value: ms(arrivedAt - began), baseline: `${ms((arrivedAt - began) / count)} per student`, ratio: '–' },
      { measure: 'Soak: agent container memory, median (at the end vs when all had arrived)', value: mib(median(memoryAtEnd)), baseline: mib(median(memoryAtArrival)), ratio: ratio(median(memoryAtEnd), median(memoryAtArrival)) },
    ];
    const kinds = [...new Set([...arrivals.map((o) => o.kind), ...MIX.map(([k]) => k)])];
    const table = [
      '| action | requests | unexpected | p50 | p99 |',
      '|---|---:|---:|---:|---:|',
      `| first request (GET /sessions, starts the agent) | ${arrivals.length} | ${arrivals.filter((o) => o.error).length} | ${ms(median(arrivals.map((o) => o.ms)))} | ${ms(quantile(arrivals.map((o) => o.ms), 0.99))} |`,
      ...kinds.map((kind) => {
        const of = steady.filter((o) => o.kind === kind);
        return `| ${kind} | ${of.length} | ${of.filter((o) => o.error).length} | ${ms(median(of.map((o) => o.ms)))} | ${ms(quantile(of.map((o) => o.ms), 0.99))} |`;
      }),
    ];
    const samples = window.map((s) => `${Math.round((s.at - steadyFrom) / 1000)} s ${(s.bytes / MiB).toFixed(0)}`);
    const everyTwentieth = samples.filter((_, i) => i % 15 === 0);
    const notes = [
      `Soak: ${count} simulated students, each with its own agent container of the reference agent (\`agent/\`, the nanobot-tutor image) limited to ${options.agentMemory}; they arrive ${ARRIVING_AT_ONCE} at a time (their first request starts the agent), and once all are up every one of them keeps acting for ${seconds} s with ${THINK_MS.min / 1000}-${THINK_MS.max / 1000} s of thinking between actions: ${MIX.map(([k, w]) => `${k} ${Math.round((w / MIX_TOTAL) * 100)} %`).join(', ')}. Chats stream through the gateway's LLM relay to the fake OpenAI-compatible provider (40 ms between chunks). ${steady.length} actions in all (students act while the others still arrive), ${inWindow} of them in the ${Math.round(steadySeconds)} s with all ${count} at once (${(inWindow / steadySeconds).toFixed(1)} per second); the fake provider answered ${llm.requests.length} calls, all with the real key: ${new Set(llm.apiKeys).size === 1 && llm.apiKeys[0] === PROVIDER_KEY ? 'yes' : 'NO'}. Gateway CPU during the steady load: ${cpu.toFixed(1)} s (${((cpu / steadySeconds) * 100).toFixed(0)} % of one core).`,
      `Soak memory: the host used ${mib(hostBefore)} before the soak and ${mib(hostWithAgents)} with all ${count} agents up (${mib((hostWithAgents - hostBefore) / count)} per student, agents and gateway together); agent containers ${mib(Math.min(...memoryAtEnd))}-${mib(Math.max(...memoryAtEnd))} at the end (docker stats, page cache included). Gateway RSS during the steady load, MiB every ${(RSS_EVERY_MS * 15) / 1000} s: ${everyTwentieth.join(', ')}.`,
      ...(errors.length ? [`Soak errors (first 5): ${errors.slice(0, 5).map((o) => `${o.kind}: ${o.error}`).join(' | ')}`] : []),
    ];
    return { rows, notes, sections: [{ title: `Soak: ${count} students, mixed traffic, ${seconds} s`, lines: table }] };
  } finally {
    await gateway?.stop().catch(() => {});
    await llm?.stop().catch(() => {});
  }
}
