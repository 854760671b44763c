/** Refuses paths that could climb out of their root once the agent decodes them. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';

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

/** True when no segment of the raw path is `.`, `..`, or hides a separator or NUL byte. */
export function isSafePath(rawPath: string): boolean {
  return rawPath.split('/').every((segment) => {
    const decoded = decodeFully(segment);
    return decoded !== undefined && decoded !== '.' && decoded !== '..' && !/[/\\\0]/.test(decoded) && !decoded.includes('%');
  });
}

export const safePath = () =>
  createMiddleware<Env>(async function safePath(c, next) {
    // The raw URL keeps percent-encoding; Hono's c.req.path may not.
    const rawPath = new URL(c.req.url).pathname;
    if (!isSafePath(rawPath)) throw new GatewayError(400, 'invalid_path', 'The path is not allowed.');
    await next();
  });
