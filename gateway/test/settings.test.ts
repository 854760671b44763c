import { describe, expect, test } from 'bun:test';
import { loadSettings, parseSize } from '../src/settings.ts';

describe('loadSettings', () => {
  test('applies the documented defaults', () => {
    const s = loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', AGENT_HOST_MODE: 'name', USER_ASSERTION_SECRET: 'u'.repeat(32) });
    expect(s).toMatchObject({
      server: { port: 8080, hostname: '127.0.0.1', maxBodyBytes: 33_554_432, upstreamTimeoutMs: 300_000, quickTimeoutMs: 30_000, healthRecheckMs: 2_000, bodyIdleMs: 30_000 },
      agents: {
        image: 'nanobot-tutor',
        port: 8000,
        networkName: 'nanobot-net',
        dataDir: '/data',
        hostDataDir: '/data',
        configPath: '/config/config.json',
        startTimeoutMs: 60_000,
        memoryBytes: 1024 ** 3,
        cpus: 1,
        pids: 256,
        instance: 'default',
        hostMode: 'name',
        command: ['gateway'],
        templateDir: '',
        readOnly: true,
      },
      users: { localAuthMode: 'accounts', adminToken: undefined, supabaseUrl: undefined, trustEmailHeader: false, inviteTtlMs: 7 * 86_400_000, dataDir: '/data' },
      admin: { adminToken: undefined, metricsToken: undefined, deletedRetentionMs: 7 * 86_400_000, configPath: '/config/config.json', dataDir: '/data', instance: 'default' },
    });
  });

  test('the relay: port 8090 on an automatic address and no limits by default', () => {
    const s = loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1' });
    expect(s.relay).toEqual({
      port: 8090,
      host: 'auto',
      url: undefined,
      maxBodyBytes: 16 * 1024 * 1024,
      tokensPerDay: 0,
      requestsPerMinute: 0,
      globalTokensPerDay: 0,
    });
    const set = loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1', RELAY_URL: 'http://gateway:8090/', RELAY_TOKENS_PER_DAY: '50000' });
    expect(set.relay).toMatchObject({ url: 'http://gateway:8090', tokensPerDay: 50_000 });
    expect(() => loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1', RELAY_URL: 'gateway:8090' })).toThrow(/RELAY_URL/);
    expect(() => loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1', RELAY_TOKENS_PER_DAY: '-1' })).toThrow(/RELAY_TOKENS_PER_DAY/);
  });

  test('refuses an instance too long to leave room for the user in a 63-character container name', () => {
    expect(() => loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_INSTANCE: 'x'.repeat(31) })).toThrow(/GATEWAY_INSTANCE/);
    expect(loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_INSTANCE: 'x'.repeat(30), USER_ASSERTION_SECRET: 'u'.repeat(32) }).agents.instance).toHaveLength(30);
  });

  test('ADMIN_TOKEN and METRICS_TOKEN must be what a bearer header carries, as GATEWAY_TOKEN must', () => {
    const base = { GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1' };
    for (const name of ['ADMIN_TOKEN', 'METRICS_TOKEN', 'GATEWAY_TOKEN']) {
      for (const token of ['admin#token!with$chars', 'a token with spaces', 'padding=in=the=middle', 'ünïcödé-token-0123456789']) {
        expect(() => loadSettings({ ...base, [name]: token })).toThrow(`${name} may only hold letters, digits and . _ ~ + / - (then = padding)`);
      }
    }
    const token = 'Ab0._~+/-Ab0._~+/-==';
    expect(loadSettings({ ...base, ADMIN_TOKEN: token, METRICS_TOKEN: token }).admin).toMatchObject({ adminToken: token, metricsToken: token });
  });

  test('METRICS_TOKEN needs 16 characters; DELETED_RETENTION is a duration, 0 keeps deleted folders', () => {
    const base = { GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1' };
    expect(() => loadSettings({ ...base, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
    expect(loadSettings({ ...base, METRICS_TOKEN: 'm'.repeat(16), DELETED_RETENTION: '0' }).admin).toMatchObject({ metricsToken: 'm'.repeat(16), deletedRetentionMs: 0 });
    expect(loadSettings({ ...base, DELETED_RETENTION: '36h' }).admin.deletedRetentionMs).toBe(36 * 3_600_000);
    expect(() => loadSettings({ ...base, DELETED_RETENTION: 'a week' })).toThrow(/DELETED_RETENTION is not a duration/);
  });

  test('refuses to start without a gateway token', () => {
    expect(() => loadSettings({ AGENT_TOKEN_SECRET: 's' })).toThrow(/GATEWAY_TOKEN is required/);
  });

  test('runs without a token only when GATEWAY_ALLOW_NO_TOKEN=1 is explicit', () => {
    expect(loadSettings({ AGENT_TOKEN_SECRET: 's', GATEWAY_ALLOW_NO_TOKEN: '1', GATEWAY_TRUST_EMAIL_HEADER: '1' }).server.gatewayToken).toBeUndefined();
  });

  test('refuses a gateway token that cannot travel in a bearer header', () => {
    expect(() => loadSettings({ GATEWAY_TOKEN: 'has spaces', AGENT_TOKEN_SECRET: 's' })).toThrow(/GATEWAY_TOKEN may only hold/);
  });

  test('says which required variable is missing', () => {
    expect(() => loadSettings({ GATEWAY_TOKEN: 't' })).toThrow('AGENT_TOKEN_SECRET is required');
  });

  test('names the bad variable in the error', () => {
    expect(() => loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', START_TIMEOUT_MS: 'soon' })).toThrow(/START_TIMEOUT_MS/);
    expect(() => loadSettings({ GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', AGENT_MEMORY: 'lots' })).toThrow(/AGENT_MEMORY/);
  });
});

describe('the lifecycle settings', () => {
  const base = { GATEWAY_TOKEN: 't', AGENT_TOKEN_SECRET: 's', GATEWAY_TRUST_EMAIL_HEADER: '1' };

  test('default to a 30 min idle timeout, removal after 7 days, 8 starts at once, a queue of 200, no active limit and hung agents stopped after 3 min', () => {
    expect(loadSettings(base).lifecycle).toEqual({ idleTimeoutMs: 1_800_000, removeAfterMs: 604_800_000, maxConcurrentSpawns: 8, maxSpawnQueue: 200, maxActiveAgents: 0, hungRestartAfterMs: 180_000 });
  });

  test('read durations with units, 0 as off', () => {
    const s = loadSettings({ ...base, IDLE_TIMEOUT: '90s', REMOVE_AFTER: '0', MAX_ACTIVE_AGENTS: '40', HUNG_AGENT_RESTART_AFTER: '0' }).lifecycle;
    expect(s).toMatchObject({ idleTimeoutMs: 90_000, removeAfterMs: 0, maxActiveAgents: 40, hungRestartAfterMs: 0 });
  });

  test('name a bad value', () => {
    expect(() => loadSettings({ ...base, IDLE_TIMEOUT: 'half an hour' })).toThrow(/IDLE_TIMEOUT is not a duration/);
    expect(() => loadSettings({ ...base, HUNG_AGENT_RESTART_AFTER: 'soon' })).toThrow(/HUNG_AGENT_RESTART_AFTER is not a duration/);
    expect(() => loadSettings({ ...base, MAX_CONCURRENT_SPAWNS: '0' })).toThrow(/MAX_CONCURRENT_SPAWNS/);
    expect(() => loadSettings({ ...base, MAX_SPAWN_QUEUE: '-1' })).toThrow(/MAX_SPAWN_QUEUE/);
  });
});

describe('parseSize', () => {
  test('reads Docker-style sizes', () => {
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('2048')).toBe(2048);
    expect(parseSize('big')).toBeUndefined();
  });
});
