/**
 * The built image, as the gateway runs it: nanobot's home mounted (owned by the image's uid 1000), a token, a
 * provider reached over the network, a read-only root file system with a tmpfs /tmp, no capabilities.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chown, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../scripts/lib/images.ts';
import { capture } from '../../scripts/lib/run.ts';
import { DEFAULT_ANSWER_INTRO, startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { eventually, fakeConfig, postJson, readSse } from './helpers.ts';

const TAG = 'nbtest-agent-tutor:test';
const TOKEN = 'image-test-token';
/** The agent's user in the image; the gateway gives each student's folder to it. */
const AGENT_UID = 1000;
const name = `nbtest-agent-${Date.now().toString(36)}`;

let llm: FakeLlm;
let home: string;
let url: string;

async function docker(args: string[]): Promise<string> {
  const result = await capture(['docker', ...args]);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(async () => {
  await buildImage({ dockerfile: 'agent/Dockerfile', tag: TAG, quiet: true });
  llm = startFakeLlm({ hostname: '0.0.0.0' });
  home = await mkdtemp(join(tmpdir(), 'nbtest-agent-image-'));
  await writeFile(join(home, 'config.json'), JSON.stringify(fakeConfig(`http://host.docker.internal:${llm.port}/v1`)));
  await chown(home, AGENT_UID, AGENT_UID);
  await docker([
    'run', '-d', '--name', name, '--label', 'nbtest-agent=true',
    '--add-host', 'host.docker.internal:host-gateway',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--read-only', '--tmpfs', '/tmp',
    '-v', `${home}:/root/.nanobot`, '-e', `NANOBOT_HTTP_TOKEN=${TOKEN}`, '-p', '127.0.0.1::8000',
    TAG, 'gateway',
  ]);
  const mapped = await docker(['port', name, '8000/tcp']);
  url = `http://127.0.0.1:${mapped.split('\n')[0]!.split(':').pop()}`;
  await eventually(async () => expect((await fetch(`${url}/health`)).status).toBe(200), 30_000);
}, 600_000);

afterAll(async () => {
  await capture(['docker', 'rm', '-f', name]);
  await llm?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the agent image', () => {
  test('answers /health', async () => {
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
  });

  test('requires its token on every other path', async () => {
    expect((await fetch(`${url}/files`)).status).toBe(401);
  });

  test('answers a chat through the provider in config.json, streaming too', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'X-User-ID': 'docker_user-0123456789' };
    const response = await fetch(`${url}/chat`, postJson({ message: 'Hello from Docker' }, auth));
    expect(response.status).toBe(200);
    expect(((await response.json()) as { response: string }).response).toContain(DEFAULT_ANSWER_INTRO);

    const streamed = await fetch(`${url}/chat`, postJson({ message: 'Stream from Docker' }, { ...auth, Accept: 'text/event-stream' }));
    const events = await readSse(streamed);
    expect(events.at(-1)?.event).toBe('done');
    expect(llm.requests.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test('runs as uid 1000, not root, on a read-only root file system', async () => {
    expect(await docker(['exec', name, 'id', '-u'])).toBe(String(AGENT_UID));
    expect(await docker(['inspect', '--format', '{{.Config.User}}', name])).toBe(`${AGENT_UID}:${AGENT_UID}`);
    const touched = await capture(['docker', 'exec', name, 'touch', '/app/x']);
    expect(touched.code).not.toBe(0);
    expect(touched.stderr).toContain('Read-only file system');
    // /tmp is a tmpfs Docker mounts nosuid,nodev; the bind-mounted home is as the host has it (see the README).
    const mounts = await docker(['exec', name, 'cat', '/proc/mounts']);
    expect(mounts).toMatch(/ \/tmp tmpfs rw,nosuid,nodev/);
    expect(mounts).toMatch(/ \/ overlay ro,/);
  });

  test('takes an upload with the read-only root, and the file on the host belongs to uid 1000', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const response = await fetch(`${url}/uploads`, postJson({ files: [{ name: 'mine.txt', content_base64: btoa('hello') }] }, auth));
    expect(await response.json()).toEqual({ saved_files: ['files_uploaded/mine.txt'] });
    const info = await stat(join(home, 'workspace', 'files_uploaded', 'mine.txt'));
    expect(info.uid).toBe(AGENT_UID);
    expect(info.gid).toBe(AGENT_UID);
    expect((await stat(join(home, 'sessions'))).uid).toBe(AGENT_UID);
  });

  test('runs the calculator tool (mathjs in its worker) inside the image', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'X-User-ID': 'docker_user-0123456789', 'X-Session-ID': 'maths' };
    const response = await fetch(`${url}/chat`, postJson({ message: 'calculate: 3 m * 4 m to cm^2' }, auth));
    expect(((await response.json()) as { response: string }).response).toBe('The calculator says: 3 m * 4 m to cm^2 = 120000 cm^2');
  }, 60_000);

  test('takes nanobot’s command line: status prints the settings without the key and exits 0', async () => {
    const result = await capture(['docker', 'run', '--rm', '--label', 'nbtest-agent=true', '-v', `${home}:/root/.nanobot`, TAG, 'status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Provider: custom (http://host.docker.internal:');
    expect(result.stdout).toContain('Model: fake-tutor');
    expect(result.stdout).toContain('Workspace: /root/.nanobot/workspace');
    expect(result.stdout).toContain('API key: configured');
    expect(result.stdout).not.toContain('test-key');
  }, 60_000);

  test('refuses an unknown command with exit code 2 and the usage', async () => {
    const result = await capture(['docker', 'run', '--rm', '--label', 'nbtest-agent=true', TAG, 'serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command: serve');
  }, 60_000);

  test('keeps nanobot’s layout in the mounted home', async () => {
    expect((await readdir(join(home, 'workspace'))).sort()).toEqual(['AGENTS.md', 'SOUL.md', 'USER.md', 'files_uploaded', 'memory']);
    expect(await readdir(join(home, 'sessions'))).toContain('http_docker_user-0123456789.jsonl');
  });
});
