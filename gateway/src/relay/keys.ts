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

/** Users whose MAC a verifier keeps; past this it starts over (each entry is one user id and 32 bytes). */
const MAX_KEPT_MACS = 10_000;

/**
 * Checks relay keys under one secret: the user a key belongs to, or undefined for anything that is
 * not a key this secret made. A user's MAC is kept once a key of theirs has passed (so keys made up
 * for other ids cannot push real callers out): an agent sends its key with every call, and an HMAC
 * run after an idle gap took 25-50 µs here before the first token could move (1 µs when hot). The
 * comparison stays constant-time.
 */
export function relayKeyVerifier(secret: string): (key: string) => string | undefined {
  const macs = new Map<string, Buffer>();
  return (key) => {
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const [, userId = '', hex = ''] = match;
    const kept = macs.get(userId);
    const expected = kept ?? mac(secret, userId);
    if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return undefined;
    if (!kept) {
      if (macs.size >= MAX_KEPT_MACS) macs.clear();
      macs.set(userId, expected);
    }
    return userId;
  };
}

/** The key an OpenAI-compatible SDK sends as a bearer token, or Anthropic's SDK as `x-api-key`. */
export function presentedKey(headers: Headers): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1];
  return bearer ?? headers.get('x-api-key') ?? '';
}
