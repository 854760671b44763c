/**
 * The real nanobot image's behaviour, with the stand-in of fixtures/nanobot-standin on a real
 * Docker Engine: AGENT_COMMAND makes it serve, an agent that exits at start is answered at once
 * with why, its user is backed off until the config changes, the container is hardened, and it
 * reaches its model through the gateway's LLM relay without ever holding the key.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_ANSWER_INTRO, startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { capture } from '../../scripts/lib/run.ts';
import { identityFor } from '../src/identity.ts';
import type { LogLine } from '../src/log.ts';
import { relayKey } from '../src/relay/keys.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { buildStandIn, createTestBed, REPO_ROOT, STANDIN_IMAGE, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';
import { keySearchScript } from './key-search.ts';

const START_TIMEOUT_MS = 30_000;
const NO_KEY = { agents: { defaults: { model: 'openrouter/test' } } };
const REAL_KEY = 'sk-or-v1-not-a-real-key-0123456789';
/** The fake provider listens on the host's loopback: the gateway's relay reaches it, no container can. */
let llm: FakeLlm;
const withKey = () => ({ ...NO_KEY, providers: { openrouter: { apiKey: REAL_KEY, apiBase: llm.url } } });

let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;
const logged: LogLine[] = [];
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;
let configPath: string;

beforeAll(async () => {
  bed = await createTestBed();
  await buildStandIn();
  configPath = bed.env.CONFIG_PATH;
  llm = startFakeLlm();
  await writeFile(configPath, JSON.stringify(withKey()));
  gateway = await startTestGateway(
    { ...bed.env, AGENT_IMAGE: STANDIN_IMAGE, AGENT_PORT: '18790', START_TIMEOUT_MS: String(START_TIMEOUT_MS), AGENT_TEMPLATE_DIR: join(REPO_ROOT, 'agent/templates') },
    { log: (line) => logged.push(line) },
  );
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await bed?.cleanup();
  await llm?.stop();
}, 60_000);

const chat = (user: string) =>
  fetch(`${gateway.url}/chat`, { method: 'POST', headers: authHeaders(user, { 'Content-Type': 'application/json' }), body: JSON.stringify({ message: 'hi' }) });

async function containerOf(user: string) {
  const found = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  expect(found).toHaveLength(1);
  return bed.docker.getContainer(found[0]!.Id).inspect();
}

describe('the real nanobot image (stand-in)', () => {
  test('is served with the default AGENT_COMMAND, although it ignores the per-agent token', async () => {
    const user = email('served');
    const res = await chat(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response: expect.stringContaining(DEFAULT_ANSWER_INTRO) });
    expect((await containerOf(user)).Config.Cmd).toEqual(['gateway']);
  }, 60_000);

  test('reaches its model through the LLM relay: it reads its keyless config, the provider sees the real key, the container holds none', async () => {
    const user = email('relayed');
    const before = llm.apiKeys.length;
    const res = await chat(user);
    expect(await res.json()).toEqual({ response: expect.stringContaining(DEFAULT_ANSWER_INTRO) });
    expect(llm.apiKeys.slice(before)).toEqual([REAL_KEY]);
    expect(llm.requests.at(-1)?.messages.at(-1)?.content).toBe('hi');

    const info = await containerOf(user);
    expect(JSON.stringify(info)).not.toContain(REAL_KEY);
    expect(info.Mounts.map((m) => m.Source)).not.toContain(configPath);
    const exec = async (...args: string[]) => {
      const result = await capture(['docker', 'exec', info.Id, ...args]);
      expect(result.code).toBe(0);
      return result.stdout.trim();
    };
    // What nanobot reads: providers.<name>.apiKey/apiBase, here the relay's key and address.
    const config = JSON.parse(await exec('cat', '/root/.nanobot/config.json')) as { providers: Record<string, { apiKey: string; apiBase: string }> };
    expect(config.providers.openrouter).toMatchObject({ apiKey: relayKey('test-agent-secret', identityFor(user).id), apiBase: `${await gateway.relayUrl}/llm/openrouter/v1` });
    const found = await exec('bun', '-e', keySearchScript(REAL_KEY));
    expect(JSON.parse(found)).toEqual([]);
  }, 120_000);

  test('gets a hardened container: read-only root, tmpfs /tmp, rotated logs, bounded restarts', async () => {
    const user = email('hardened');
    const whoami = await fetch(`${gateway.url}/files/whoami`, { headers: authHeaders(user) });
    expect(await whoami.json()).toEqual({ uid: 0, rootWritable: false, tmpWritable: true, homeWritable: true });
    const info = await containerOf(user);
    expect(info.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
    });
  }, 60_000);

  test('gets a data folder of its own (0700, owned by the image\'s user) seeded with the tutor templates', async () => {
    const user = email('seeded');
    expect((await chat(user)).status).toBe(200);
    const folder = join(bed.dataDir, identityFor(user).id);
    const info = await stat(folder);
    expect(info.mode & 0o777).toBe(0o700);
    // The stand-in runs as root, like the real image: without capabilities root can only enter its own 0700 folder.
    expect([info.uid, info.gid]).toEqual([0, 0]);
    const soul = await Bun.file(join(folder, 'workspace/SOUL.md')).text();
    expect(soul).toBe(await Bun.file(join(REPO_ROOT, 'agent/templates/SOUL.md')).text());
    expect(await Bun.file(join(folder, 'workspace/memory/MEMORY.md')).exists()).toBe(true);
  }, 60_000);

  test('run with its own default command (status) it exits, and the caller hears so at once', async () => {
    const statusOnly = await startTestGateway({ ...bed.env, AGENT_IMAGE: STANDIN_IMAGE, AGENT_PORT: '18790', AGENT_COMMAND: '', START_TIMEOUT_MS: String(START_TIMEOUT_MS) });
    try {
      const started = Date.now();
      const res = await fetch(`${statusOnly.url}/chat`, { method: 'POST', headers: authHeaders(email('status')), body: '{}' });
      expect(Date.now() - started).toBeLessThan(START_TIMEOUT_MS);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { code: string; error: string };
      expect(body.code).toBe('agent_exited');
      expect(body.error).toContain('exited with code 0: Model: openrouter/test');
    } finally {
      await statusOnly.stop();
    }
  }, 60_000);
});

describe('an agent that exits at start (no API key)', () => {
  const user = email('nokey');

  test('is answered 503 agent_exited with the exit code and its last line, well before START_TIMEOUT_MS, and logged masked', async () => {
    await writeFile(configPath, JSON.stringify(NO_KEY));
    const started = Date.now();
    const res = await chat(user);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(START_TIMEOUT_MS);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = (await res.json()) as { code: string; error: string };
    expect(body.code).toBe('agent_exited');
    expect(body.error).toContain('exited with code 1: Error: No API key configured.');

    const line = logged.find((l) => l.msg === 'agent exited before it was healthy' && l.userId === identityFor(user).id);
    expect(line).toMatchObject({ level: 'error', exitCode: 1 });
    const output = (line?.output ?? []) as string[];
    expect(output).toContain('Error: No API key configured.');
    // The stand-in printed its per-agent token; the log has it masked.
    expect(output).toContain('HTTP channel token: ***');
    const token = (await containerOf(user)).Config.Env.find((e) => e.startsWith('NANOBOT_HTTP_TOKEN='))!.split('=')[1]!;
    expect(JSON.stringify(logged)).not.toContain(token);
    // Stopped, so Docker's restart policy does not keep it looping.
    expect((await containerOf(user)).State.Running).toBe(false);
  }, 60_000);

  test('is not started again while its user is backed off', async () => {
    const before = await containerOf(user);
    const res = await chat(user);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('agent_exited');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(5);
    expect((await containerOf(user)).State.StartedAt).toBe(before.State.StartedAt);
  }, 60_000);

  test('a fixed config clears the back-off at once and the agent serves', async () => {
    await writeFile(configPath, JSON.stringify(withKey()));
    const res = await chat(user);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response: expect.stringContaining(DEFAULT_ANSWER_INTRO) });
  }, 60_000);
});
