/**
 * `bun run setup`: from a fresh clone to a running stack. Safe to run again: it never overwrites
 * `.env`, `config.json` or anything under `data/`, and rebuilds only what changed.
 *
 *   --agent-context <dir>   build `nanobot-tutor` from this folder (e.g. your nanobot fork)
 *   --engine podman         run on your user's rootless Podman instead of the Docker Engine (README)
 *   --no-build              use the images already in the engine (e.g. loaded with `docker save | podman load`)
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { addMissing, readDotenv } from './lib/dotenv.ts';
import { buildImage, isReferenceAgentImage, prepareBuild, REFERENCE_AGENT_IMAGE, REPO_ROOT } from './lib/images.ts';
import { llmCheckVia, llmSummary } from './lib/llm-summary.ts';
import { findCompose } from './lib/compose.ts';
import { checkPodman } from './lib/podman.ts';
import { capture, imageExists, run } from './lib/run.ts';
import { ENV_PATH, stackSetting, useStackEngine } from './lib/stack.ts';

const MIN_BUN = [1, 2];
const { values: flags } = parseArgs({
  options: { 'agent-context': { type: 'string' }, engine: { type: 'string', default: 'docker' }, 'no-build': { type: 'boolean', default: false } },
});
const say = (line: string) => console.log(`\x1b[1m▸ ${line}\x1b[0m`);

function fail(message: string): never {
  console.error(`\n✖ ${message}`);
  process.exit(1);
}

async function checkPrerequisites(): Promise<string[]> {
  const [major = 0, minor = 0] = Bun.version.split('.').map(Number);
  if (major < MIN_BUN[0]! || (major === MIN_BUN[0] && minor < MIN_BUN[1]!)) {
    fail(`Bun ${Bun.version} is too old: install Bun ${MIN_BUN.join('.')} or newer (npm install -g bun).`);
  }
  if (!Bun.which('docker')) {
    fail(flags.engine === 'podman'
      ? 'The docker command is missing: --engine podman uses the Docker client against your Podman socket (Debian: apt-get install docker.io, then systemctl disable --now docker.service docker.socket).'
      : 'The docker command is missing: install Docker Engine (https://docs.docker.com/engine/install/).');
  }
  const info = await capture(['docker', 'info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
  if (info.code !== 0) {
    fail(`The Docker Engine is not reachable (${info.stderr.trim().split('\n')[0] ?? 'no answer'}).\n  Start it (e.g. sudo systemctl start docker), check that your user may use it, or set DOCKER_HOST.`);
  }
  const compose = await findCompose();
  if (!compose) fail('Docker Compose is missing: install the compose plugin (docker compose) or docker-compose 1.29.');
  return compose;
}

function secret(): string {
  return randomBytes(32).toString('base64url');
}

/** `.env` and `config.json`, created or completed, never overwritten. The base images only when setup builds. */
function writeConfiguration(images?: { bunImage: string; nodeImage: string }): void {
  const configPath = join(REPO_ROOT, 'config.json');
  if (!existsSync(configPath)) {
    copyFileSync(join(REPO_ROOT, 'config.example.json'), configPath);
    say('Created config.json from config.example.json');
  }
  const added = addMissing(ENV_PATH, {
    GATEWAY_TOKEN: secret(),
    AGENT_TOKEN_SECRET: secret(),
    SESSION_SECRET: secret(),
    USER_ASSERTION_SECRET: secret(),
    ADMIN_TOKEN: secret(),
    // The shared password exists only where that mode was chosen explicitly.
    ...(stackSetting('LOCAL_AUTH_MODE', 'accounts') === 'shared' ? { LOCAL_AUTH_PASSWORD: randomBytes(12).toString('base64url') } : {}),
    HOST_DATA_DIR: join(REPO_ROOT, 'data'),
    HOST_CONFIG_PATH: configPath,
    PUBLIC_URL: `http://localhost:${stackSetting('WEB_PORT', '3000')}`,
    ...(images ? { BUN_IMAGE: images.bunImage, NODE_IMAGE: images.nodeImage } : {}),
  });
  if (added.length > 0) say(`Wrote ${added.join(', ')} to .env`);
  // The folder compose mounts (HOST_DATA_DIR), made here so that Docker does not make it as root.
  mkdirSync(stackSetting('HOST_DATA_DIR', join(REPO_ROOT, 'data')), { recursive: true });
}

/** Every build line goes here (ignored by git); setup itself prints one line per image. */
const BUILD_LOG = join(REPO_ROOT, 'setup-build.log');

async function buildImages(): Promise<void> {
  writeFileSync(BUILD_LOG, '');
  say(`Building the images (the whole build log: ${BUILD_LOG})`);
  const agentContext = flags['agent-context'] ?? process.env.AGENT_BUILD_CONTEXT;
  const agentImage = stackSetting('AGENT_IMAGE', REFERENCE_AGENT_IMAGE);
  if (agentContext) {
    say(`Building ${agentImage} from ${resolve(agentContext)}`);
    const { bunImage } = await prepareBuild(say);
    await run(['docker', 'build', '--build-arg', `BUN_IMAGE=${bunImage}`, '-t', agentImage, resolve(agentContext)]);
  } else if (isReferenceAgentImage(agentImage)) {
    say(`Building ${agentImage} (agent/)`);
    await buildImage({ dockerfile: 'agent/Dockerfile', tag: agentImage, logFile: BUILD_LOG });
  } else {
    if (!(await imageExists(agentImage))) {
      fail(`AGENT_IMAGE=${agentImage} (.env) is not in the engine. Build it and run setup again, or let setup build it:
    bun run setup --agent-context <the image's build folder>
  (setup builds the reference agent, agent/, only as ${REFERENCE_AGENT_IMAGE}; an image under any other name is yours and is never overwritten.)`);
    }
    say(`Using ${agentImage}, the agent image .env names, as it is in the engine (not rebuilt)`);
  }
  say('Building nanobot-gateway (gateway/)');
  await buildImage({ dockerfile: 'gateway/Dockerfile', tag: 'nanobot-gateway', logFile: BUILD_LOG });
  say('Building nanobot-web (web/)');
  await buildImage({ dockerfile: 'web/Dockerfile', tag: 'nanobot-web', logFile: BUILD_LOG });
}

/** `--no-build`: the three images must be in the engine already, under the names the stack uses. */
async function checkImages(): Promise<void> {
  const wanted = [stackSetting('AGENT_IMAGE', REFERENCE_AGENT_IMAGE), 'nanobot-gateway', 'nanobot-web'];
  const missing: string[] = [];
  for (const image of wanted) if (!(await imageExists(image))) missing.push(image);
  if (missing.length > 0) {
    fail(`--no-build uses the images already in the engine, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not there.
  Build them (run setup without --no-build), or bring them from a machine that has them, e.g.
    docker save ${wanted.join(' ')} | podman load`);
  }
  say(`Using the images already in the engine: ${wanted.join(', ')}`);
}

async function ensureNetwork(): Promise<void> {
  const name = stackSetting('NETWORK_NAME', 'nanobot-net');
  if ((await capture(['docker', 'network', 'inspect', name])).code === 0) return;
  await run(['docker', 'network', 'create', name]);
}

async function waitUntilUp(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url, { redirect: 'manual' }).then((r) => r.status, () => 0);
    if (status >= 200 && status < 500) return true;
    await Bun.sleep(1000);
  }
  return false;
}

/**
 * `--engine podman`: every docker and Compose call below goes to the user's Podman socket, and the
 * gateway gets that socket as its Docker socket. Both are kept in .env, so `down` and later runs agree.
 */
async function chooseEngine(): Promise<void> {
  if (flags.engine !== 'docker' && flags.engine !== 'podman') fail(`--engine must be docker or podman, not ${flags.engine}.`);
  if (flags.engine === 'docker') return;
  const podman = await checkPodman();
  if (!podman.ok) fail(podman.problem);
  process.env.DOCKER_HOST = `unix://${podman.socket}`;
  // The override lets Compose start the web app without the health check Podman runs only under systemd.
  const added = addMissing(ENV_PATH, {
    DOCKER_HOST: process.env.DOCKER_HOST,
    DOCKER_SOCKET: podman.socket,
    COMPOSE_FILE: 'docker-compose.yml:docker-compose.podman.yml',
  });
  say(`Using rootless Podman at ${podman.socket}${added.length > 0 ? ` (wrote ${added.join(', ')} to .env)` : ''}`);
}

if (flags['no-build'] && flags['agent-context']) fail('--no-build builds nothing, so --agent-context has nothing to do: drop one of them.');
await chooseEngine();
useStackEngine();
const compose = await checkPrerequisites();
say('Installing dependencies');
await run(['bun', 'install'], { cwd: REPO_ROOT });
if (flags['no-build']) {
  writeConfiguration();
  await checkImages();
} else {
  const images = await prepareBuild(say);
  if (!images.local) say(`Base images: ${images.bunImage}, ${images.nodeImage}`);
  else say(`No registry reachable: built on local base images ${images.bunImage} and ${images.nodeImage}`);
  writeConfiguration(images);
  await buildImages();
}
await ensureNetwork();
say('Starting the stack');
await run([...compose, 'up', '-d', '--no-build', '--remove-orphans'], { cwd: REPO_ROOT });

const gatewayUrl = `http://127.0.0.1:${stackSetting('GATEWAY_PORT', '8080')}`;
const webUrl = `http://localhost:${stackSetting('WEB_PORT', '3000')}`;
say('Waiting for the gateway and the web app');
if (!(await waitUntilUp(`${gatewayUrl}/readyz`, 120_000))) {
  fail(`The gateway did not become ready at ${gatewayUrl}/readyz. See: ${compose.join(' ')} logs gateway`);
}
if (!(await waitUntilUp(`${webUrl}/login`, 120_000))) {
  fail(`The web app did not answer at ${webUrl}. See: ${compose.join(' ')} logs web-ui`);
}

const env = readDotenv(ENV_PATH);
const signIn = env.get('SUPABASE_URL') && env.get('SUPABASE_ANON_KEY')
  ? `Students sign in with their Supabase accounts (see README.md).`
  : stackSetting('LOCAL_AUTH_MODE', 'accounts') === 'shared'
    ? `LOCAL_AUTH_MODE=shared: anyone with this password can sign in under ANY email address,
  so use it only on a single trusted machine: ${env.get('LOCAL_AUTH_PASSWORD')}`
    : `Every student has their own account. Add the first one (prints a one-time invite link):
    bun run students add you@example.edu
  More: bun run students import roster.csv, bun run students list (see README.md).`;
say('Checking the LLM provider in config.json');
const llm = llmSummary(await llmCheckVia(gatewayUrl, env.get('ADMIN_TOKEN'), join(REPO_ROOT, 'config.json')));
const admins = env.get('ADMIN_EMAILS')?.trim();
const adminPage = admins
  ? `The admin page, for ${admins}: ${webUrl}/admin`
  : `The admin page (${webUrl}/admin) opens for the emails in ADMIN_EMAILS (.env, comma-separated; then run setup again).`;
console.log(`
✔ nanobot stack is up: ${webUrl}

  ${signIn}

  ${llm}
  ${adminPage}
  Stop the web app and the gateway: bun run down   (add --agents to stop the tutors too; data/ is kept)
`);
