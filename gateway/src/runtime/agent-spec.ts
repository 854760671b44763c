/**
 * What every agent is made with, whichever platform runs it (runtime/docker.ts, runtime/swarm.ts):
 * its labels, environment, mounts and the rules that say an agent is out of date. Pure.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentToken, type AgentIdentity } from '../identity.ts';
import { agentConfigPath } from '../relay/agent-config.ts';
import type { AgentSettings } from '../settings.ts';
import { LABELS } from './labels.ts';

/** The platform's own restarts of a crashing agent are bounded; the gateway starts it again on its user's next request. */
export const MAX_RESTARTS = 5;
/** The agent finishes the answers in flight for up to 20 s after SIGTERM; Docker's default is 10. */
export const STOP_TIMEOUT_SECONDS = 25;
/** Scratch space that does not outlive the agent; counted in its memory limit. */
export const TMP_SIZE_BYTES = 64 * 1024 * 1024;
/** A chatty or crash-looping agent cannot fill the host's disk with its log. */
export const LOG_OPTIONS = { 'max-size': '10m', 'max-file': '3' };

export const fingerprint = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 16);
export const tokenOf = (settings: AgentSettings, name: string): string => agentToken(settings.tokenSecret, name);

/**
 * The settings that shape an agent's container, as a hash. An agent made with other limits, another
 * command or network counts as outdated and is replaced (its data is in the bind mount), so a
 * changed .env reaches every tutor, not only new ones.
 */
function specFingerprint(settings: AgentSettings): string {
  const { memoryBytes, cpus, pids, quotaBytes, quotaFiles, command, readOnly, networkName, port, hostDataDir } = settings;
  const shape = [memoryBytes, cpus, pids, quotaBytes, quotaFiles, command, readOnly, networkName, port, hostDataDir];
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

/** The labels an agent carries; a scan finds this instance's agents and tells outdated ones by them. */
export function agentLabels(identity: AgentIdentity, settings: AgentSettings): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.userId]: identity.id,
    [LABELS.email]: identity.email,
    [LABELS.instance]: settings.instance,
    [LABELS.tokenFingerprint]: fingerprint(tokenOf(settings, identity.containerName)),
    [LABELS.config]: 'relay',
    [LABELS.spec]: specFingerprint(settings),
  };
}

/** The agent's port and its own token, and no other secret. */
export const agentEnv = (identity: AgentIdentity, settings: AgentSettings): string[] => [
  `NANOBOT_HTTP_PORT=${settings.port}`,
  `NANOBOT_HTTP_TOKEN=${tokenOf(settings, identity.containerName)}`,
  // The agent checks every upload against them before writing (agent/src/uploads.ts).
  `NANOBOT_QUOTA_BYTES=${settings.quotaBytes}`,
  `NANOBOT_QUOTA_FILES=${settings.quotaFiles}`,
];

export type AgentMount = { source: string; target: string; readOnly: boolean };

/** The user's own folder, and the gateway's copy of the config without provider keys (relay/agent-config.ts), never the admin's file. */
export const agentMounts = (identity: AgentIdentity, settings: AgentSettings): AgentMount[] => [
  { source: join(settings.hostDataDir, identity.id), target: '/root/.nanobot', readOnly: false },
  { source: agentConfigPath(settings.hostDataDir, identity.id), target: '/root/.nanobot/config.json', readOnly: true },
];

/**
 * An agent made under another AGENT_TOKEN_SECRET would refuse every request, one holding the
 * admin's config instead of the relay's copy must not keep it, and one made with other limits
 * would keep them: all are replaced or updated.
 */
export function matchesSettings(name: string, labels: Record<string, string>, settings: AgentSettings): boolean {
  return (
    labels[LABELS.tokenFingerprint] === fingerprint(tokenOf(settings, name)) &&
    labels[LABELS.config] === 'relay' &&
    labels[LABELS.spec] === specFingerprint(settings)
  );
}

/** Whether an agent was made by this gateway instance: anything else is never used, started or removed. */
export const isOurs = (labels: Record<string, string> | undefined, instance: string): boolean =>
  labels?.[LABELS.managed] === 'true' && labels[LABELS.instance] === instance;

/** Changes whenever what agents are made from (image, shared config) changes. */
export async function agentRevision(imageId: string | undefined, configPath: string): Promise<string> {
  const config = await readFile(configPath).catch(() => undefined);
  return `${imageId ?? 'no-image'} ${config ? createHash('sha256').update(config).digest('hex') : 'no-config'}`;
}

export const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;

/** Engine errors carry a JSON body; its `message` is the sentence worth showing. */
export const messageOf = (err: unknown): string => {
  const json = typeof err === 'object' && err !== null && 'json' in err ? (err.json as { message?: unknown } | null) : null;
  return typeof json?.message === 'string' ? json.message : String(err);
};
