/**
 * The whole stack on rootless Podman, as docs/podman.md has an administrator bring it up: a
 * throwaway user with their own `podman system service` runs `bun run setup --engine podman` in
 * their copy of this repository, and the gateway, the web app and every tutor are that user's
 * containers. A student signs in through the web app in Chromium and gets an answer streamed from the
 * fake LLM through the gateway's relay; the gateway restarted adopts the running tutor; no process of
 * the stack runs as root on the host.
 *
 * The images are built by Docker (cached) and loaded into the user's storage, so setup runs with
 * `--no-build`: a build of all three under rootless Podman takes many minutes on this machine.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { readDotenv } from '../scripts/lib/dotenv.ts';
import { buildImage } from '../scripts/lib/images.ts';
import { copyRepository, freePort } from './stack.ts';
import { launchChromium } from './support/chromium.ts';
import { waitForUrl } from './support/eventually.ts';
import { agentNames, createRootlessUser, inspectContainer, rootProcessesNaming, uidsOf, type Ran, type RootlessUser } from './support/rootless-podman.ts';
import { acceptInvite, invitePaths } from './support/students.ts';

const MINUTE = 60_000;
const EMAIL = 'hedy@example.edu';
/** Built by Docker under these tags, loaded into the user's storage under the names the stack uses. */
const IMAGES = [
  { dockerfile: 'agent/Dockerfile', tag: 'nbtest-podstack-tutor', name: 'nanobot-tutor' },
  { dockerfile: 'gateway/Dockerfile', tag: 'nbtest-podstack-gateway', name: 'nanobot-gateway' },
  { dockerfile: 'web/Dockerfile', tag: 'nbtest-podstack-web', name: 'nanobot-web' },
];
/** Compose v1 names the containers after the project, which is the folder's name. */
const GATEWAY = 'nanobot_gateway_1';
const WEB = 'nanobot_web-ui_1';
const FAKE_LLM = 'fake-llm';

let user: RootlessUser;
let dir: string;
let webUrl: string;
let gatewayUrl: string;
let browser: Browser;
let page: Page;
let withoutImages: Ran;

/** A command as the user in their copy of the repository; throws with its output when it fails. */
async function inStack(...cmd: string[]): Promise<string> {
  const ran = await user.run(['env', '-C', dir, ...cmd]);
  if (ran.code !== 0) throw new Error(`${cmd.join(' ')} failed (${ran.code}):\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  return ran.stdout;
}

/** Docker's images into the user's own storage, without a registry (docs/podman.md). */
async function loadImages(): Promise<void> {
  await Promise.all(IMAGES.map(({ dockerfile, tag }) => buildImage({ dockerfile, tag, quiet: true })));
  const saved = Bun.spawn(['docker', 'save', ...IMAGES.map((i) => i.tag)], { stdout: 'pipe', stderr: 'pipe' });
  const loaded = await user.run(['podman', 'load', '--quiet'], await new Response(saved.stdout).blob());
  if ((await saved.exited) !== 0 || loaded.code !== 0) throw new Error(`loading the images into the user's Podman failed: ${loaded.stderr}`);
  for (const { tag, name } of IMAGES) await user.podman('tag', tag, name);
}

/** Sends a question in the chat and returns the answer once it has finished (the Stop button gone). */
async function ask(message: string): Promise<string> {
  const answers = page.locator('[data-role="assistant"]');
  // The composer appears once the page has the student's sessions, whose first request starts the tutor:
  // a first start in the user's fresh rootless storage can take longer than Playwright's 30 s default.
  await page.getByLabel('Message').waitFor({ timeout: 3 * MINUTE });
  const before = await answers.count();
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  await answers.nth(before).waitFor({ timeout: 2 * MINUTE });
  await page.getByRole('button', { name: 'Stop' }).waitFor({ state: 'detached', timeout: 2 * MINUTE });
  return answers.nth(before).innerText();
}

/** The web app's chat answer as the page reads it: each read of the stream with the time it arrived. */
function streamedChat(message: string): Promise<{ status: number; reads: { at: number; text: string }[] }> {
  return page.evaluate(async (question) => {
    const res = await fetch('/api/chat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: question }) });
    const reads: { at: number; text: string }[] = [];
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    for (let read = await reader.read(); !read.done; read = await reader.read()) reads.push({ at: performance.now(), text: decoder.decode(read.value, { stream: true }) });
    return { status: res.status, reads };
  }, message);
}

/** Calls the LLM relay forwarded, from the gateway's metrics. */
async function relayCalls(): Promise<number> {
  const token = readDotenv(join(dir, '.env')).get('ADMIN_TOKEN');
  const metrics = await (await fetch(`${gatewayUrl}/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text();
  return metrics.split('\n').filter((l) => l.startsWith('nanobot_gateway_llm_requests_total{')).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

beforeAll(async () => {
  user = await createRootlessUser();
  dir = join(user.home, 'nanobot');
  mkdirSync(dir);
  await copyRepository(dir);
  const [webPort, gatewayPort] = [await freePort(), await freePort()];
  webUrl = `http://127.0.0.1:${webPort}`;
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  // What an administrator might put in .env before setup; everything else is setup's.
  writeFileSync(join(dir, '.env'), `WEB_PORT=${webPort}\nWEB_BIND=127.0.0.1\nGATEWAY_PORT=${gatewayPort}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    providers: { custom: { apiKey: 'test-key', apiBase: `http://${FAKE_LLM}:4010/v1` } },
    agents: { defaults: { model: 'fake-tutor', maxTokens: 512, temperature: 0.2, maxToolIterations: 4 } },
  }));
  const chown = Bun.spawnSync(['chown', '-R', `${user.name}:`, dir]);
  if (chown.exitCode !== 0) throw new Error(`chown failed: ${chown.stderr}`);
  // Before the images are there: setup must say so, and how to bring them.
  withoutImages = await user.run(['env', '-C', dir, 'bun', 'scripts/setup.ts', '--engine', 'podman', '--no-build']);
  await loadImages();
  // The provider: the fake LLM as the user's container on the stack's network (Bun from the gateway image).
  await user.podman('network', 'create', 'nanobot-net');
  await user.podman(
    'run', '--detach', '--name', FAKE_LLM, '--network', 'nanobot-net', '--volume', `${join(dir, 'agent/test/fake-llm.ts')}:/fake-llm.ts:ro`,
    'nanobot-gateway', 'bun', '/fake-llm.ts', '--port', '4010', '--host', '0.0.0.0', '--chunk-delay-ms', '150',
  );
  const setup = await inStack('bun', 'scripts/setup.ts', '--engine', 'podman', '--no-build');
  expect(setup).toContain('nanobot stack is up');
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  const invite = invitePaths(await inStack('bun', 'scripts/students.ts', 'add', EMAIL)).get(EMAIL);
  if (!invite) throw new Error('bun run students add printed no invite link');
  await acceptInvite(page, { webUrl }, invite, 'a password of her own');
}, 10 * MINUTE);

afterAll(async () => {
  await browser?.close();
  await user?.remove();
}, 2 * MINUTE);

describe('bun run setup --engine podman, as an unprivileged user', () => {
  test('without the images, and told not to build them, stops and says which are missing and how to load them', () => {
    expect(withoutImages.code).toBe(1);
    expect(withoutImages.stderr).toContain('nanobot-tutor, nanobot-gateway, nanobot-web are not there');
    expect(withoutImages.stderr).toContain('docker save nanobot-tutor nanobot-gateway nanobot-web | podman load');
  });

  test('writes the Podman socket and the Compose override to .env', () => {
    const env = readDotenv(join(dir, '.env'));
    expect(env.get('DOCKER_HOST')).toBe(`unix://${user.socket}`);
    expect(env.get('DOCKER_SOCKET')).toBe(user.socket);
    expect(env.get('COMPOSE_FILE')).toBe('docker-compose.yml:docker-compose.podman.yml');
  });

  test('a student signs in through the web app and gets the answer from the LLM through the gateway\'s relay', async () => {
    const relayed = await relayCalls();
    expect(await ask('Explain energy.')).toContain('E = mc');
    // The tutor holds only a relay key; the provider is reached through the gateway, which counts the call.
    expect(await relayCalls()).toBeGreaterThan(relayed);
    const [agent] = await agentNames(user);
    expect(agent).toStartWith('agent-');
    const data = join(dir, 'data');
    expect(statSync(data).uid).toBe(user.uid);
    // The student's folder belongs to the tutor's uid 1000, which is the user's subordinate uid start + 999.
    const folder = statSync(join(data, agent!.slice('agent-'.length)));
    expect(folder.uid).toBe(user.subuidStart + 999);
    expect(folder.mode & 0o777).toBe(0o700);
  }, 3 * MINUTE);

  test('the gateway restarted adopts the running tutor, and answers still stream in', async () => {
    const [agent] = await agentNames(user);
    const before = await inspectContainer(user, agent!);
    // As the administrator would: Compose finds the socket and the override in .env.
    await inStack('docker-compose', 'restart', 'gateway');
    await waitForUrl(`${gatewayUrl}/readyz`, MINUTE);
    // Podman gives the restarted gateway a new address and its DNS keeps the old one for about a minute
    // (docs/podman.md), so the web app answers 503 "cannot be reached right now, try again in a moment"
    // until then; the student tries again, as the message says.
    const until = Date.now() + 2 * MINUTE;
    let { status, reads } = await streamedChat('Still there after the restart?');
    while (status === 503 && Date.now() < until) {
      await Bun.sleep(3000);
      ({ status, reads } = await streamedChat('Still there after the restart?'));
    }
    expect(status).toBe(200);
    const text = reads.map((r) => r.text).join('');
    expect(text).toContain('E = mc');
    expect(text).toContain('event: done');
    // The fake LLM sends a piece every 150 ms: an answer buffered anywhere would arrive in one read.
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(reads.at(-1)!.at - reads[0]!.at).toBeGreaterThan(450);
    const after = await inspectContainer(user, agent!);
    expect([after.Id, after.State.Pid]).toEqual([before.Id, before.State.Pid]);
    expect(await agentNames(user)).toEqual([agent!]);
  }, 5 * MINUTE);

  test('no process of the stack runs as root on the host', async () => {
    const [agent] = await agentNames(user);
    const gateway = await inspectContainer(user, GATEWAY);
    const web = await inspectContainer(user, WEB);
    const tutor = await inspectContainer(user, agent!);
    const owner = user.uid;
    const mapped1000 = user.subuidStart + 999;
    // The service and the conmons as the user; the gateway as container root, which is the user too;
    // the web app (node, uid 1000) and the tutor (uid 1000) as the user's subordinate uid.
    const stack = [
      [user.servicePid, owner],
      [gateway.State.Pid, owner], [gateway.State.ConmonPid, owner],
      [web.State.Pid, mapped1000], [web.State.ConmonPid, owner],
      [tutor.State.Pid, mapped1000], [tutor.State.ConmonPid, owner],
    ] as const;
    expect(stack.map(([pid]) => uidsOf(pid))).toEqual(stack.map(([, uid]) => [uid, uid, uid, uid]));
    expect(rootProcessesNaming(user, [gateway.Id, web.Id, tutor.Id])).toEqual([]);
    // Everything else of the user's (rootlessport, slirp4netns, aardvark-dns…) is not root in any of its uids either.
    expect(user.pids().length).toBeGreaterThan(stack.length);
    for (const pid of user.pids()) expect(uidsOf(pid) ?? [1]).not.toContain(0);
  }, MINUTE);

  test('bun run down --agents stops the stack through the same socket and keeps the data', async () => {
    const [agent] = await agentNames(user);
    await inStack('bun', 'scripts/down.ts', '--agents');
    const running = (await user.podman('ps', '--format', '{{.Names}}')).split('\n').filter(Boolean);
    expect(running).toEqual([FAKE_LLM]);
    expect(readdirSync(join(dir, 'data'))).toContain(agent!.slice('agent-'.length));
  }, 2 * MINUTE);
});
