/**
 * Per-agent relay keys: what an agent's config holds instead of a provider key. The key names its
 * user and carries an HMAC of that name, so the relay knows who is calling without storing a key
 * per agent, and no agent can make another student's key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'nbr-';
/** User ids are `<slug>-<hash>` (identity.ts): lower-case letters, digits, `_` and `-`. */
const KEY_PATTERN = /^nbr-([a-z0-9_-]{1,64})\.([0-9a-f]{64})$/;

const mac = (secret: string, userId: string) => createHmac('sha256', secret).update(`relay:${userId}`).digest();

export function relayKey(secret: string, userId: string): string {
  return `${PREFIX}${userId}.${mac(secret, userId).toString('hex')}`;
}

/** The user a relay key belongs to, or undefined for anything that is not a key this secret made. */
export function verifyRelayKey(secret: string, key: string): string | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const [, userId = '', hex = ''] = match;
  return timingSafeEqual(Buffer.from(hex, 'hex'), mac(secret, userId)) ? userId : undefined;
}

/** The key an OpenAI-compatible SDK sends as a bearer token, or Anthropic's SDK as `x-api-key`. */
export function presentedKey(headers: Headers): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
  return bearer ?? headers.get('x-api-key') ?? '';
}
