/** Refuses paths that could climb out of their root once the agent decodes them. */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { pathOf } from '../target.ts';

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

export const safePath = () =>
  createMiddleware<Env>(async function safePath(c, next) {
    // The raw URL keeps percent-encoding; Hono's c.req.path may not.
    if (!isSafePath(pathOf(c.req.raw.url))) throw new GatewayError(400, 'invalid_path', 'The path is not allowed.');
    await next();
  });
