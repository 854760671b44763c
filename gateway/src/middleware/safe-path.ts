/**
 * Refuses what an agent should never be handed: a path that could climb out of its root once decoded,
 * a path longer than a file system takes, and a Host that is not a host (it reaches the agent as
 * X-Forwarded-Host, where a URL parser would throw on it).
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { splitUrl } from '../target.ts';

const MAX_DECODE_ROUNDS = 3;

/** Decodes a segment until it stops changing, so double-encoded forms (`%252e`) are caught too. */
function decodeFully(segment: string): string | undefined {
  let current = segment;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return undefined;
    }
    if (next === current) return current;
    current = next;
  }
  return current;
}

/** A `.` or `..` segment, a backslash or a NUL byte, in a path with nothing encoded. */
const PLAIN_UNSAFE = /(?:^|\/)\.\.?(?:\/|$)|[\\\0]/;

/** True when no segment of the raw path is `.`, `..`, or hides a separator or NUL byte. */
export function isSafePath(rawPath: string): boolean {
  // Nearly every path has nothing percent-encoded: each segment is then its own decoded form.
  if (!rawPath.includes('%')) return !PLAIN_UNSAFE.test(rawPath);
  return rawPath.split('/').every((segment) => {
    const decoded = decodeFully(segment);
    return decoded !== undefined && decoded !== '.' && decoded !== '..' && !/[/\\\0]/.test(decoded) && !decoded.includes('%');
  });
}

/** PATH_MAX of Linux: no file an agent could serve has a longer path. */
export const MAX_TARGET_LENGTH = 4096;

/**
 * A host name (labels of 1 to 63 letters, digits, `-` or `_`; container names have `_`) or IPv4
 * address, or an IPv6 literal in brackets, with an optional port (RFC 9112 §3.2, RFC 3986 §3.2.2).
 */
const HOST = /^(?:(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;
const MAX_HOST_LENGTH = 253 + ':65535'.length;

export function isValidHost(host: string): boolean {
  if (host.length > MAX_HOST_LENGTH) return false;
  const match = HOST.exec(host);
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65535);
}

export const safePath = () => {
  // Nearly every request comes from the web app under one Host: a string compare instead of the regex.
  let lastValidHost = '';
  return createMiddleware<Env>(async function safePath(c, next) {
    const req = c.req.raw;
    // The raw URL keeps percent-encoding; Hono's c.req.path may not.
    const { host, target } = splitUrl(req.url);
    // The header itself when there is one: it reaches the agent as X-Forwarded-Host, and Bun leaves
    // the URL relative (no host at all) when it cannot place the header's value in one.
    const given = req.headers.get('host') ?? host;
    if (given !== lastValidHost) {
      if (!isValidHost(given)) throw new GatewayError(400, 'invalid_host', 'The Host header is not a host name or address with an optional port.');
      lastValidHost = given;
    }
    if (target.length > MAX_TARGET_LENGTH) throw new GatewayError(414, 'path_too_long', `The path and query are longer than ${MAX_TARGET_LENGTH} characters.`);
    const query = target.indexOf('?');
    if (!isSafePath(query === -1 ? target : target.slice(0, query))) throw new GatewayError(400, 'invalid_path', 'The path is not allowed.');
    await next();
  });
};
