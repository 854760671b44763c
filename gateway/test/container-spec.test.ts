/** The Docker runtime's pure rules, without an engine: what a container is made of, how it is reached, when it is outdated. */
import { describe, expect, test } from 'bun:test';
import type Docker from 'dockerode';
import { identityFor } from '../src/identity.ts';
import { addressOf, containerSpec, isOutdated, resolveAddressMode, type ContainerFacts } from '../src/runtime/docker.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { testSettings } from './helpers.ts';

const agents = testSettings({
  GATEWAY_INSTANCE: 'unit',
  AGENT_IMAGE: 'tutor:1',
  DATA_DIR: '/data',
  HOST_DATA_DIR: '/srv/nanobot/data',
  NETWORK_NAME: 'unit-net',
  AGENT_MEMORY: '512m',
  AGENT_CPUS: '0.5',
  AGENT_PIDS: '64',
}).agents;
const ada = identityFor('ada@example.edu');

/** The facts of a container made from the spec, as the engine would report them. */
function factsOf(spec: Docker.ContainerCreateOptions, overrides: Partial<ContainerFacts> = {}): ContainerFacts {
  return { name: `/${spec.name}`, labels: spec.Labels ?? {}, imageId: 'sha256:current', ip: '172.30.0.7', ...overrides };
}

describe('containerSpec', () => {
  const spec = containerSpec(ada, agents);

  test('names the container after the user and labels it for this instance', () => {
    expect(spec.name).toBe(ada.containerName);
    expect(spec.Image).toBe('tutor:1');
    expect(spec.Labels).toMatchObject({
      [LABELS.managed]: 'true',
      [LABELS.userId]: ada.id,
      [LABELS.email]: 'ada@example.edu',
      [LABELS.instance]: 'unit',
    });
    expect(spec.Labels?.[LABELS.tokenFingerprint]).toMatch(/^[0-9a-f]{16}$/);
  });

  test('binds only the user\'s own folder and the gateway\'s keyless copy of the config, read-only, from the host paths', () => {
    expect(spec.HostConfig?.Binds).toEqual([
      `/srv/nanobot/data/${ada.id}:/root/.nanobot`,
      `/srv/nanobot/data/.state/agent-config/${ada.id}.json:/root/.nanobot/config.json:ro`,
    ]);
    expect(JSON.stringify(spec)).not.toContain('/srv/nanobot/config.json');
  });

  test('gives the agent its port and its own token, and no other secret', () => {
    expect(spec.Env).toHaveLength(4);
    expect(spec.Env).toContain('NANOBOT_HTTP_PORT=8000');
    const token = spec.Env?.find((e) => e.startsWith('NANOBOT_HTTP_TOKEN='))?.slice('NANOBOT_HTTP_TOKEN='.length);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toBe(containerSpec(identityFor('bob@example.edu'), agents).Env?.[1]?.slice('NANOBOT_HTTP_TOKEN='.length));
    expect(JSON.stringify(spec)).not.toContain(agents.tokenSecret);
  });

  test('passes the student\'s upload quota, 1 GiB and 1,000 files unless USER_QUOTA_BYTES / USER_QUOTA_FILES say otherwise', () => {
    expect(spec.Env).toContain(`NANOBOT_QUOTA_BYTES=${1024 ** 3}`);
    expect(spec.Env).toContain('NANOBOT_QUOTA_FILES=1000');
    const small = containerSpec(ada, testSettings({ USER_QUOTA_BYTES: '200m', USER_QUOTA_FILES: '50' }).agents);
    expect(small.Env).toContain(`NANOBOT_QUOTA_BYTES=${200 * 1024 ** 2}`);
    expect(small.Env).toContain('NANOBOT_QUOTA_FILES=50');
  });

  test('applies the limits and the hardening', () => {
    expect(spec.HostConfig).toMatchObject({
      NetworkMode: 'unit-net',
      Memory: 512 * 1024 ** 2,
      NanoCpus: 500_000_000,
      PidsLimit: 64,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 5 },
    });
    expect(spec.StopTimeout).toBe(25);
  });

  test('runs AGENT_COMMAND (default `gateway`, several words allowed) as the Cmd, or the image\'s own CMD when empty', () => {
    expect(spec.Cmd).toEqual(['gateway']);
    expect(containerSpec(ada, testSettings({ AGENT_COMMAND: '  gateway   --verbose ' }).agents).Cmd).toEqual(['gateway', '--verbose']);
    expect(containerSpec(ada, testSettings({ AGENT_COMMAND: '' }).agents)).not.toHaveProperty('Cmd');
  });

  test('AGENT_READ_ONLY=0 leaves the root file system writable, for images that write outside their data folder', () => {
    expect(containerSpec(ada, testSettings({ AGENT_READ_ONLY: '0' }).agents).HostConfig?.ReadonlyRootfs).toBe(false);
  });
});

describe('addressOf', () => {
  const facts = factsOf(containerSpec(ada, agents));

  test('uses the container name in name mode and the network IP in ip mode', () => {
    expect(addressOf(facts, 'name', 8000)).toBe(`http://${ada.containerName}:8000`);
    expect(addressOf(facts, 'ip', 8000)).toBe('http://172.30.0.7:8000');
  });

  test('has no address in ip mode for a container without an IP on the network', () => {
    expect(addressOf({ ...facts, ip: undefined }, 'ip', 8000)).toBeUndefined();
  });
});

describe('isOutdated', () => {
  const spec = containerSpec(ada, agents);

  test('a container made with the current image and secret is current', () => {
    expect(isOutdated(factsOf(spec), agents, 'sha256:current')).toBe(false);
  });

  test('a container from another image is outdated, unless the current image is unknown', () => {
    expect(isOutdated(factsOf(spec, { imageId: 'sha256:older' }), agents, 'sha256:current')).toBe(true);
    expect(isOutdated(factsOf(spec, { imageId: 'sha256:older' }), agents, undefined)).toBe(false);
  });

  test('a container made under another AGENT_TOKEN_SECRET, or without a fingerprint, is outdated', () => {
    const rekeyed = { ...agents, tokenSecret: 'another-secret' };
    expect(isOutdated(factsOf(spec), rekeyed, 'sha256:current')).toBe(true);
    const { [LABELS.tokenFingerprint]: _, ...unmarked } = spec.Labels ?? {};
    expect(isOutdated(factsOf(spec, { labels: unmarked }), agents, 'sha256:current')).toBe(true);
  });

  test('a container from before the relay, which binds the admin\'s config.json with its keys, is outdated', () => {
    const { [LABELS.config]: _, ...older } = spec.Labels ?? {};
    expect(isOutdated(factsOf(spec, { labels: older }), agents, 'sha256:current')).toBe(true);
  });

  test('a container made with other limits, command or network is outdated, so a changed .env reaches every tutor', () => {
    const changed: Partial<typeof agents>[] = [
      { memoryBytes: 2 * agents.memoryBytes },
      { cpus: 2 },
      { pids: 128 },
      { quotaBytes: 1 },
      { quotaFiles: 1 },
      { command: ['status'] },
      { readOnly: !agents.readOnly },
      { networkName: 'other-net' },
      { port: 9000 },
    ];
    for (const change of changed) expect(isOutdated(factsOf(spec), { ...agents, ...change }, 'sha256:current')).toBe(true);
    // Settings that do not shape the container leave it alone.
    expect(isOutdated(factsOf(spec), { ...agents, startTimeoutMs: 1 }, 'sha256:current')).toBe(false);
    const { [LABELS.spec]: _, ...unmarked } = spec.Labels ?? {};
    expect(isOutdated(factsOf(spec, { labels: unmarked }), agents, 'sha256:current')).toBe(true);
  });
});

describe('resolveAddressMode', () => {
  /** A Docker client whose only container lookup answers with `inspect`. */
  const dockerAnswering = (inspect: () => Promise<unknown>) => ({ getContainer: () => ({ inspect }) }) as unknown as Docker;
  const notFound = async () => {
    throw Object.assign(new Error('no such container'), { statusCode: 404 });
  };

  test('an explicit mode is used as it is, without asking the engine', async () => {
    const never = dockerAnswering(async () => {
      throw new Error('must not be asked');
    });
    expect(await resolveAddressMode(never, { ...agents, hostMode: 'name' })).toBe('name');
    expect(await resolveAddressMode(never, { ...agents, hostMode: 'ip' })).toBe('ip');
  });

  test('auto: name when the gateway\'s own container is on the network, ip when it is elsewhere or no container', async () => {
    const auto = { ...agents, hostMode: 'auto' as const };
    const on = (network: string) => dockerAnswering(async () => ({ NetworkSettings: { Networks: { [network]: {} } } }));
    expect(await resolveAddressMode(on('unit-net'), auto, 'self')).toBe('name');
    expect(await resolveAddressMode(on('bridge'), auto, 'self')).toBe('ip');
    expect(await resolveAddressMode(dockerAnswering(notFound), auto, 'self')).toBe('ip');
  });

  test('auto: an engine that fails is an error, not a guess', async () => {
    const failing = dockerAnswering(async () => {
      throw Object.assign(new Error('engine down'), { statusCode: 500 });
    });
    expect(resolveAddressMode(failing, { ...agents, hostMode: 'auto' }, 'self')).rejects.toThrow('engine down');
  });
});
