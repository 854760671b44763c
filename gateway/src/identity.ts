/** Who a request is for: the normalised email, the collision-free user id and the agent's names. */
import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';

export type AgentIdentity = {
  /** Trimmed, lower-cased email address. */
  email: string;
  /** `<slug>-<hash>`: readable, and unique per email even when slugs collide. */
  id: string;
  /** `agent-<id>`, at most 63 characters so it is also a valid host name label. */
  containerName: string;
};

const CONTAINER_PREFIX = 'agent-';
const HASH_LENGTH = 10;
const MAX_CONTAINER_NAME = 63;
const MAX_SLUG = MAX_CONTAINER_NAME - CONTAINER_PREFIX.length - 1 - HASH_LENGTH;

export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email());

export function identityFor(normalisedEmail: string): AgentIdentity {
  const slug = normalisedEmail.replace(/[^a-z0-9]/g, '_').slice(0, MAX_SLUG);
  const hash = createHash('sha256').update(normalisedEmail).digest('hex').slice(0, HASH_LENGTH);
  const id = `${slug}-${hash}`;
  return { email: normalisedEmail, id, containerName: `${CONTAINER_PREFIX}${id}` };
}

/** The per-agent bearer token; recomputed on demand, so the gateway stores no secrets per agent. */
export function agentToken(secret: string, containerName: string): string {
  return createHmac('sha256', secret).update(containerName).digest('hex');
}
