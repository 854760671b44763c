/** Who a request is for: the normalised email, the collision-free user id and the agent's names. */
import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { EMAIL_PATTERN, MAX_EMAIL_LENGTH } from './email.ts';

export type AgentIdentity = {
  /** Trimmed, lower-cased email address. */
  email: string;
  /** `<slug>-<hash>`: readable, and unique per email even when slugs collide. */
  id: string;
  /** `agent-<id>` (`agent-<instance>-<id>` for another GATEWAY_INSTANCE), at most 63 characters so it is also a valid host name label. */
  containerName: string;
};

/** The GATEWAY_INSTANCE whose agents keep the names they had before instances were part of them. */
export const DEFAULT_INSTANCE = 'default';
/** Long enough for a readable instance, short enough to leave room for the user's slug in a 63-character name. */
export const MAX_INSTANCE_LENGTH = 30;

const CONTAINER_PREFIX = 'agent-';
const HASH_LENGTH = 10;
const MAX_CONTAINER_NAME = 63;

export const emailSchema = z.string().trim().toLowerCase().max(MAX_EMAIL_LENGTH).pipe(z.email({ pattern: EMAIL_PATTERN }));

/**
 * Two stacks on one engine must never share a container, so a non-default instance is part of the
 * name. The user id (and so the data folder) does not depend on the instance; only the slug in the
 * container name is cut shorter to make room for it.
 */
export function identityFor(normalisedEmail: string, instance = DEFAULT_INSTANCE): AgentIdentity {
  const prefix = instance === DEFAULT_INSTANCE ? CONTAINER_PREFIX : `${CONTAINER_PREFIX}${instance}-`;
  const slug = normalisedEmail.replace(/[^a-z0-9]/g, '_');
  const hash = createHash('sha256').update(normalisedEmail).digest('hex').slice(0, HASH_LENGTH);
  const id = `${slug.slice(0, MAX_CONTAINER_NAME - CONTAINER_PREFIX.length - 1 - HASH_LENGTH)}-${hash}`;
  const nameSlug = slug.slice(0, Math.max(0, MAX_CONTAINER_NAME - prefix.length - 1 - HASH_LENGTH));
  return { email: normalisedEmail, id, containerName: `${prefix}${nameSlug}-${hash}` };
}

/** The per-agent bearer token; recomputed on demand, so the gateway stores no secrets per agent. */
export function agentToken(secret: string, containerName: string): string {
  return createHmac('sha256', secret).update(containerName).digest('hex');
}
