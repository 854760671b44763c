/** Gateway configuration: read from the environment once, with the defaults written once here (docs/architecture.md lists them). */
import { z } from 'zod';
import { MAX_INSTANCE_LENGTH } from './identity.ts';
import { parseDuration as durationMs } from './duration.ts';
import { withSecretFiles } from './secret-files.ts';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses Docker-style sizes such as `512m` or `1g` into bytes. */
export function parseSize(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(value.trim());
  if (!match) return undefined;
  const [, amount = '', unit = ''] = match;
  return Math.floor(Number(amount) * (SIZE_UNITS[unit.toLowerCase()] ?? 1));
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
const duration = (fallback: string) =>
  z.string().default(fallback).transform((v, ctx) => durationMs(v) ?? (ctx.addIssue('is not a duration such as 90s, 30m or 7d (a plain number is milliseconds)'), z.NEVER));
const flag = z.enum(['0', '1', 'true', 'false', '']).default('').transform((v) => v === '1' || v === 'true');
/** Unset and empty are the same (Compose passes `${VAR:-}` as an empty string). */
const optional = z.string().trim().optional().transform((v) => v || undefined);
/**
 * What a bearer header can carry and hono/bearer-auth accepts (RFC 6750 token68), or empty; setup
 * writes base64url. Any other character would make the token fail some routes' checks, not all.
 */
const TOKEN68 = /^(?:[A-Za-z0-9._~+/-]+=*)?$/;
const TOKEN68_CHARACTERS = 'may only hold letters, digits and . _ ~ + / - (then = padding)';
/** ADMIN_TOKEN and METRICS_TOKEN: optional, 16 characters or more. */
const bearerToken = optional.pipe(z.string().min(16, 'must be at least 16 characters').regex(TOKEN68, TOKEN68_CHARACTERS).optional());

/** The environment, checked and turned into settings grouped by who uses them; every default is here. */
const schema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    // Loopback on the host; the image sets 0.0.0.0, as a container must for its network to reach it.
    LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
    GATEWAY_TOKEN: z.string().regex(TOKEN68, TOKEN68_CHARACTERS).optional(),
    GATEWAY_ALLOW_NO_TOKEN: flag,
    AGENT_TOKEN_SECRET: z.string({ error: 'is required' }).min(1, 'is required'),
    GATEWAY_INSTANCE: z.string().max(MAX_INSTANCE_LENGTH).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'may only hold letters, digits, _ . - (starting with a letter or digit)').default('default'),
    AGENT_IMAGE: z.string().min(1).default('nanobot-tutor'),
    RUNTIME: z.enum(['docker', 'swarm']).default('docker'),
    AGENT_PLACEMENT: z.enum(['node', 'any']).default('node'),
    // nanobot's image defaults to `status`; `gateway` serves the HTTP channel. Words split on whitespace.
    AGENT_COMMAND: z.string().default('gateway').transform((v) => v.split(/\s+/).filter(Boolean)),
    AGENT_TEMPLATE_DIR: z.string().default(''),
    // Unset: the image's numeric USER, root for an image without one (see runtime/data-folder.ts).
    AGENT_UID: z.union([z.literal(''), z.coerce.number().int().min(0)]).optional(),
    AGENT_GID: z.union([z.literal(''), z.coerce.number().int().min(0)]).optional(),
    AGENT_READ_ONLY: z.enum(['0', '1', 'true', 'false']).default('1').transform((v) => v === '1' || v === 'true'),
    AGENT_PORT: positiveInt(8000),
    AGENT_HOST_MODE: z.enum(['auto', 'name', 'ip']).default('auto'),
    NETWORK_NAME: z.string().min(1).default('nanobot-net'),
    DATA_DIR: z.string().min(1).default('/data'),
    HOST_DATA_DIR: z.string().optional(),
    CONFIG_PATH: z.string().min(1).default('/config/config.json'),
    START_TIMEOUT_MS: positiveInt(60_000),
    UPSTREAM_TIMEOUT_MS: positiveInt(300_000),
    UPSTREAM_QUICK_TIMEOUT: duration('30s').pipe(z.number().positive('must be longer than 0')),
    HEALTH_RECHECK_TIMEOUT: duration('2s').pipe(z.number().positive('must be longer than 0')),
    BODY_IDLE_TIMEOUT: duration('30s').pipe(z.number().positive('must be longer than 0')),
    MAX_BODY_BYTES: positiveInt(32 * 1024 * 1024),
    USER_REQUESTS_PER_MINUTE: nonNegativeInt(600),
    USER_MAX_CONNECTIONS: nonNegativeInt(32),
    REQUEST_LOG_PER_SECOND: nonNegativeInt(100),
    USER_QUOTA_BYTES: z.string().default('1g').transform((v, ctx) => parseSize(v) ?? (ctx.addIssue('is not a size such as 500m or 1g'), z.NEVER)),
    USER_QUOTA_FILES: positiveInt(1000),
    AGENT_MEMORY: z.string().default('1g').transform((v, ctx) => parseSize(v) ?? (ctx.addIssue('is not a size such as 512m or 1g'), z.NEVER)),
    AGENT_CPUS: z.coerce.number().positive().default(1),
    AGENT_PIDS: positiveInt(256),
    RELAY_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
    RELAY_HOST: z.string().min(1).default('auto'),
    RELAY_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://gateway:8090' })]).optional(),
    RELAY_MAX_BODY_BYTES: positiveInt(16 * 1024 * 1024),
    RELAY_TOKENS_PER_DAY: z.coerce.number().int().min(0).default(0),
    RELAY_REQUESTS_PER_MINUTE: z.coerce.number().int().min(0).default(0),
    RELAY_GLOBAL_TOKENS_PER_DAY: z.coerce.number().int().min(0).default(0),
    IDLE_TIMEOUT: duration('30m'),
    HUNG_AGENT_RESTART_AFTER: duration('3m'),
    REMOVE_AFTER: duration('7d'),
    MAX_CONCURRENT_SPAWNS: positiveInt(8),
    MAX_SPAWN_QUEUE: nonNegativeInt(200),
    MAX_ACTIVE_AGENTS: nonNegativeInt(0),
    LOCAL_AUTH_MODE: z.enum(['accounts', 'shared']).default('accounts'),
    USER_ASSERTION_SECRET: optional.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    ADMIN_TOKEN: bearerToken,
    SUPABASE_URL: optional.pipe(z.url({ protocol: /^https?$/ }).optional()),
    GATEWAY_TRUST_EMAIL_HEADER: flag,
    METRICS_TOKEN: bearerToken,
    DELETED_RETENTION: duration('7d'),
    INVITE_TTL: duration('7d').pipe(z.number().positive('must be longer than 0')),
  })
  .superRefine((env, ctx) => {
    if (!env.GATEWAY_TOKEN && !env.GATEWAY_ALLOW_NO_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_TOKEN'], message: 'is required (set GATEWAY_ALLOW_NO_TOKEN=1 only for local experiments)' });
    }
    if (!env.USER_ASSERTION_SECRET && !env.SUPABASE_URL && !env.GATEWAY_TRUST_EMAIL_HEADER) {
      ctx.addIssue({
        code: 'custom',
        path: ['USER_ASSERTION_SECRET'],
        message: 'is required to verify who the user is (or SUPABASE_URL, or GATEWAY_TRUST_EMAIL_HEADER=1 to trust X-User-Email)',
      });
    }
  })
  .transform((e) => ({
    /** The HTTP side: who may call, how big and how slow a request may be. */
    server: {
      port: e.PORT,
      /** Address to listen on (not HOSTNAME: Docker sets that to the container's name). */
      hostname: e.LISTEN_HOST,
      /** Undefined only when GATEWAY_ALLOW_NO_TOKEN=1: then every caller is trusted. */
      gatewayToken: e.GATEWAY_TOKEN || undefined,
      maxBodyBytes: e.MAX_BODY_BYTES,
      /** How long `/chat` and `DELETE /conversations` (both wait for the LLM) may take to send their answer's headers. */
      upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
      /** The same for every other agent route (files, uploads, memory, sessions, export, health). */
      quickTimeoutMs: e.UPSTREAM_QUICK_TIMEOUT,
      /** An agent that missed a deadline must answer `/health` within this before the next request waits on it. */
      healthRecheckMs: e.HEALTH_RECHECK_TIMEOUT,
      /** A request body that stops arriving for this long is cut with 408. */
      bodyIdleMs: e.BODY_IDLE_TIMEOUT,
      /** Per student (middleware/user-limits.ts); 0 is unlimited for each. */
      userLimits: { requestsPerMinute: e.USER_REQUESTS_PER_MINUTE, maxConnections: e.USER_MAX_CONNECTIONS },
      /** Request lines of successful answers written per second at most (middleware/logger.ts); 0 is all. */
      requestLogPerSecond: e.REQUEST_LOG_PER_SECOND,
    },
    /** The agents: how they are made, reached and waited for. */
    agents: {
      /** The GATEWAY_INSTANCE label value: this gateway only looks at agents carrying it. */
      instance: e.GATEWAY_INSTANCE,
      /** What runs the agents: containers on one Docker Engine, or services on a Docker Swarm (runtime/swarm.ts). */
      runtime: e.RUNTIME,
      /** Swarm only: `node` pins each new agent to the gateway's node (its data folder's), `any` is for data on shared storage. */
      placement: e.AGENT_PLACEMENT,
      image: e.AGENT_IMAGE,
      /** The container's Cmd (the image's ENTRYPOINT stays); empty keeps the image's own CMD. */
      command: e.AGENT_COMMAND,
      /** Seeded into a user's `workspace/` when the gateway creates the agent; empty: none. */
      templateDir: e.AGENT_TEMPLATE_DIR,
      /** Owner of the data folders the gateway creates (the user the agent runs as); undefined: from the image. */
      uid: e.AGENT_UID === '' ? undefined : e.AGENT_UID,
      gid: e.AGENT_GID === '' ? undefined : e.AGENT_GID,
      /** Read-only root file system with a tmpfs /tmp. */
      readOnly: e.AGENT_READ_ONLY,
      port: e.AGENT_PORT,
      /** Derives each agent's bearer token (identity.ts). */
      tokenSecret: e.AGENT_TOKEN_SECRET,
      /** How the gateway reaches agents: by container name on the network, by container IP, or `auto` (see runtime/docker.ts). */
      hostMode: e.AGENT_HOST_MODE,
      networkName: e.NETWORK_NAME,
      dataDir: e.DATA_DIR,
      hostDataDir: e.HOST_DATA_DIR || e.DATA_DIR,
      configPath: e.CONFIG_PATH,
      startTimeoutMs: e.START_TIMEOUT_MS,
      memoryBytes: e.AGENT_MEMORY,
      cpus: e.AGENT_CPUS,
      pids: e.AGENT_PIDS,
      /** Each student's upload quota, enforced by the agent (NANOBOT_QUOTA_BYTES / NANOBOT_QUOTA_FILES). */
      quotaBytes: e.USER_QUOTA_BYTES,
      quotaFiles: e.USER_QUOTA_FILES,
    },
    /** The LLM relay: the second listener agents call instead of the providers (relay/). */
    relay: {
      port: e.RELAY_PORT,
      /** `auto`: all addresses inside a container on NETWORK_NAME, else the network's gateway IP on the host. */
      host: e.RELAY_HOST,
      /** The relay's base URL as agents see it; derived from the bound address when unset. */
      url: e.RELAY_URL ? e.RELAY_URL.replace(/\/+$/, '') : undefined,
      maxBodyBytes: e.RELAY_MAX_BODY_BYTES,
      /** 0 means no limit, for each of the three. */
      tokensPerDay: e.RELAY_TOKENS_PER_DAY,
      requestsPerMinute: e.RELAY_REQUESTS_PER_MINUTE,
      globalTokensPerDay: e.RELAY_GLOBAL_TOKENS_PER_DAY,
    },
    /** How many agents run and start at once, and when idle ones stop (agents/lifecycle.ts, agents/culler.ts). */
    lifecycle: {
      /** Stop an agent with no request for this long; 0 never stops one. */
      idleTimeoutMs: e.IDLE_TIMEOUT,
      /** Remove a stopped agent's container (never its data) after this long unused; 0 never removes one. */
      removeAfterMs: e.REMOVE_AFTER,
      maxConcurrentSpawns: e.MAX_CONCURRENT_SPAWNS,
      /** Starts waiting beyond maxConcurrentSpawns; more answer 429. */
      maxSpawnQueue: e.MAX_SPAWN_QUEUE,
      /** Running agents at most; 0 is unlimited. */
      maxActiveAgents: e.MAX_ACTIVE_AGENTS,
      /** Stop an agent whose `/health` has not answered for this long (agents/hung.ts); 0 never does. */
      hungRestartAfterMs: e.HUNG_AGENT_RESTART_AFTER,
    },
    /** Who a request is for, and the accounts (accounts/). */
    users: {
      /** `accounts`: per-student passwords kept here; `shared`: the web app's one password (assertions carry no session). */
      localAuthMode: e.LOCAL_AUTH_MODE,
      /** Key of the HS256 user assertions the web app signs; undefined: none are accepted. */
      assertionSecret: e.USER_ASSERTION_SECRET,
      /** Bearer token of the admin API (`/admin/*`); undefined turns that API off. */
      adminToken: e.ADMIN_TOKEN,
      /** Supabase project whose access tokens are accepted as assertions (checked against its JWKS). */
      supabaseUrl: e.SUPABASE_URL?.replace(/\/+$/, ''),
      /** Accept a bare X-User-Email without an assertion (for callers like the original web app). */
      trustEmailHeader: e.GATEWAY_TRUST_EMAIL_HEADER,
      inviteTtlMs: e.INVITE_TTL,
      /** Where the state database lives (`<dataDir>/.state/stack.db`). */
      dataDir: e.DATA_DIR,
    },
    /** The operator's view (admin/): metrics, the admin API and deleted students' folders. */
    admin: {
      /** Bearer token of the admin API (the same ADMIN_TOKEN as the accounts API); undefined turns it off. */
      adminToken: e.ADMIN_TOKEN,
      /** A second token that may read only GET /metrics (for a Prometheus that should not hold ADMIN_TOKEN). */
      metricsToken: e.METRICS_TOKEN,
      /** How long a deleted student's folder stays in `<DATA_DIR>/.deleted/` before it is purged; 0 keeps it forever. */
      deletedRetentionMs: e.DELETED_RETENTION,
      /** Read for the LLM provider check, as the agents read it. */
      configPath: e.CONFIG_PATH,
      /** Names the agents the admin restarts, as the chain names them (agent-<instance>-<id>). */
      instance: e.GATEWAY_INSTANCE,
      dataDir: e.DATA_DIR,
    },
  }));

export type Settings = z.output<typeof schema>;
export type AgentSettings = Settings['agents'];
export type RelaySettings = Settings['relay'];
export type LifecycleSettings = Settings['lifecycle'];
export type AdminSettings = Settings['admin'];
export type UserSettings = Settings['users'];

export class SettingsError extends Error {}

export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  let resolved: Record<string, string | undefined>;
  try {
    resolved = withSecretFiles(env);
  } catch (err) {
    throw new SettingsError(`Invalid gateway settings: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(resolved);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`);
    throw new SettingsError(`Invalid gateway settings: ${lines.join('; ')}`);
  }
  return parsed.data;
}
