/**
 * The LLM relay on the real engine, with the reference agent image on an internal network (no way
 * out): chats go agent → relay → a fake provider that only the gateway can reach, and no provider
 * key is anywhere in an agent.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { buildImage } from '../../scripts/lib/images.ts';
import { capture } from '../../scripts/lib/run.ts';
import { identityFor } from '../src/identity.ts';
import { relayKey } from '../src/relay/keys.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { eventually } from '../../test/support/eventually.ts';
import { createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { keySearchScript } from './key-search.ts';
import { authHeaders } from './helpers.ts';

const TUTOR_IMAGE = 'nbtest-relay-tutor:latest';
const REAL_KEY = 'sk-relay-test-REAL-0123456789abcdefghij';
const ADMIN_TOKEN = 'relay-admin-token';
const run = crypto.randomUUID().slice(0, 8);
const NETWORK = `nbtest-relay-${run}`;
const email = (name: string) => `${name}.${run}@example.com`;

let bed: Awaited<ReturnType<typeof createTestBed>>;
let llm: FakeLlm;
let gateway: TestGateway;
let env: Record<string, string>;

async function docker(...args: string[]): Promise<string> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** A port free on the network's gateway address, so a restarted gateway's relay keeps its address. */
async function freePortOn(hostname: string): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname, fetch: () => new Response() });
  const port = probe.port ?? 0;
  await probe.stop(true);
  return port;
}

beforeAll(async () => {
  bed = await createTestBed();
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TUTOR_IMAGE, quiet: true });
  // Agents get no way out: only the gateway (on the host here) reaches anything beyond their network.
  await docker('network', 'create', '--internal', NETWORK);
  const gatewayIp = await docker('network', 'inspect', NETWORK, '--format', '{{(index .IPAM.Config 0).Gateway}}');
  // On the host's loopback: the gateway reaches it, no container can.
  llm = startFakeLlm({ chunkDelayMs: 150 });
  await writeFile(bed.env.CONFIG_PATH, JSON.stringify({
    providers: { custom: { apiKey: REAL_KEY, apiBase: llm.url }, openai: { apiKey: '' } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 256, temperature: 0, memoryWindow: 50, maxToolIterations: 4 } },
  }));
  env = {
    ...bed.env,
    AGENT_IMAGE: TUTOR_IMAGE,
    AGENT_MEMORY: '256m',
    NETWORK_NAME: NETWORK,
    UPSTREAM_TIMEOUT_MS: '20000',
    RELAY_PORT: String(await freePortOn(gatewayIp)),
    // One streamed answer of the fake costs about 8 tokens: the second chat crosses it.
    RELAY_TOKENS_PER_DAY: '10',
    ADMIN_TOKEN,
  };
  gateway = await startTestGateway(env);
}, 600_000);

afterAll(async () => {
  await gateway?.stop();
  await bed?.cleanup();
  await capture(['docker', 'network', 'rm', NETWORK]);
  await llm?.stop();
}, 60_000);

type SseEvent = { event: string; data: string; at: number };

/** A chat as the web app sends it, each event stamped with when it arrived. */
async function chat(user: string, message = 'What is energy?') {
  const res = await fetch(`${gateway.url}/chat`, {
    method: 'POST',
    headers: authHeaders(user, { 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify({ message }),
  });
  if (!res.headers.get('content-type')?.includes('text/event-stream')) return { status: res.status, events: [], json: await res.json() as Record<string, string> };
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop() ?? '';
    for (const block of blocks) {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      events.push({ event, data, at: performance.now() });
    }
  }
  return { status: res.status, events, json: undefined };
}

async function agentContainer(user: string): Promise<string> {
  const found = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  expect(found).toHaveLength(1);
  return found[0]!.Id;
}

/** Runs a short script with the agent image's own Bun inside the agent's container. */
const inAgent = (id: string, script: string) => docker('exec', id, 'bun', '-e', script);

describe('the LLM relay on a real engine', () => {
  test('a chat goes through the relay to the provider, which sees the real key; streaming stays token by token', async () => {
    const ada = email('ada');
    const { status, events } = await chat(ada);
    expect(status).toBe(200);
    const deltas = events.filter((e) => e.event === 'delta');
    expect(events.at(-1)?.event).toBe('done');
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    // The fake sends a piece every 150 ms: bunched-up deltas would mean a buffer on the way.
    expect(deltas.at(-1)!.at - deltas[0]!.at).toBeGreaterThan(300);
    expect(llm.apiKeys.length).toBeGreaterThan(0);
    expect(new Set(llm.apiKeys)).toEqual(new Set([REAL_KEY]));
    expect(llm.requests.at(-1)?.stream_options).toEqual({ include_usage: true });
  }, 120_000);

  test('an agent container holds no provider key: not in its environment, files, mounts or config', async () => {
    const id = await agentContainer(email('ada'));
    const info = JSON.parse(await docker('inspect', id))[0] as { Config: { Env: string[] }; Mounts: Array<{ Source: string }> };
    expect(JSON.stringify(info)).not.toContain(REAL_KEY);
    expect(info.Mounts.map((m) => m.Source)).not.toContain(bed.env.CONFIG_PATH);
    const config = JSON.parse(await docker('exec', id, 'cat', '/root/.nanobot/config.json')) as { providers: Record<string, { apiKey: string; apiBase?: string }> };
    expect(config.providers.custom?.apiKey).toBe(relayKey('test-agent-secret', identityFor(email('ada')).id));
    expect(config.providers.custom?.apiBase).toBe(`${await gateway.relayUrl}/llm/custom/v1`);
    expect(config.providers.openai?.apiKey).toBe('');
    // Every file the agent's processes can read (what they cannot read, a steered model cannot either), and their environment.
    const found = await inAgent(id, keySearchScript(REAL_KEY));
    expect(JSON.parse(found)).toEqual([]);
  }, 120_000);

  test('agents are on an internal network: a server beyond it that the host reaches is out of their reach', async () => {
    const id = await agentContainer(email('ada'));
    const networks = JSON.parse(await docker('inspect', id, '--format', '{{json .NetworkSettings.Networks}}')) as Record<string, unknown>;
    expect(Object.keys(networks)).toEqual([NETWORK]);
    expect(await docker('network', 'inspect', NETWORK, '--format', '{{.Internal}}')).toBe('true');
    // "The internet": a server on Docker's default bridge, reached by forwarding, which an internal network drops.
    const outside = await docker(
      'run', '-d', '--label', `${LABELS.managed}=true`, '--label', `${LABELS.instance}=${bed.instance}`,
      '--entrypoint', 'bun', TUTOR_IMAGE, '-e', "Bun.serve({ port: 4010, fetch: () => new Response('outside') })",
    );
    const ip = await docker('inspect', outside, '--format', '{{.NetworkSettings.IPAddress}}');
    const target = `http://${ip}:4010/`;
    await eventually(async () => expect(await (await fetch(target)).text()).toBe('outside'), 20_000);
    const tryFrom = (script: string) => inAgent(id, script);
    expect(await tryFrom(`fetch(${JSON.stringify(target)}, { signal: AbortSignal.timeout(3000) }).then(() => console.log('reached'), () => console.log('blocked'))`)).toBe('blocked');
    // Nor the fake provider, which listens on the host's loopback for the gateway alone.
    expect(await tryFrom(`fetch(${JSON.stringify(`http://127.0.0.1:${llm.port}/health`)}).then(() => console.log('reached'), () => console.log('blocked'))`)).toBe('blocked');
  }, 60_000);

  test('an agent cannot use another student\'s identity at the relay, and a caller without a key is refused', async () => {
    const id = await agentContainer(email('ada'));
    const own = relayKey('test-agent-secret', identityFor(email('ada')).id);
    const forged = own.replace(identityFor(email('ada')).id, identityFor(email('bob')).id);
    const url = `${await gateway.relayUrl}/llm/custom/v1/chat/completions`;
    const statusWith = (authorization: string) =>
      inAgent(id, `fetch(${JSON.stringify(url)}, { method: 'POST', headers: { authorization: ${JSON.stringify(authorization)}, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fake-tutor', messages: [{ role: 'user', content: 'x' }] }) }).then((r) => console.log(r.status))`);
    expect(await statusWith(`Bearer ${forged}`)).toBe('401');
    expect(await statusWith('')).toBe('401');
    // From the host, too: the relay takes nobody without a key, and is not on the loopback at all.
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(401);
    const port = new URL(url).port;
    expect(await fetch(`http://127.0.0.1:${port}/llm/custom/v1/chat/completions`).then(() => 'reached', () => 'refused')).toBe('refused');
  }, 60_000);

  test('a student over the daily budget gets 429 with the allowance sentence; another student is unaffected', async () => {
    const ada = email('ada');
    let refused: Awaited<ReturnType<typeof chat>> | undefined;
    for (let i = 0; i < 4 && !refused; i += 1) {
      const reply = await chat(ada);
      if (reply.status === 429) refused = reply;
      else expect(reply.status).toBe(200);
    }
    expect(refused?.json?.code).toBe('llm_quota');
    expect(refused?.json?.error).toContain("You have used today's tutoring allowance; it resets at");
    const bob = await chat(email('bob'));
    expect(bob.status).toBe(200);
  }, 180_000);

  test('usage survives a gateway restart, and so does the refusal', async () => {
    const usage = async () => {
      const res = await fetch(`${gateway.url}/admin/usage`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
      return (await res.json()) as { students: Array<{ userId: string; today: { requests: number; promptTokens: number; completionTokens: number } }> };
    };
    const before = await usage();
    const adaId = identityFor(email('ada')).id;
    expect(before.students.find((s) => s.userId === adaId)?.today.requests).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${gateway.url}/admin/usage`, { headers: authHeaders(email('ada')) })).status).toBe(401);
    await gateway.stop();
    gateway = await startTestGateway(env);
    expect((await usage()).students).toEqual(before.students);
    expect((await chat(email('ada'))).status).toBe(429);
  }, 120_000);
});
