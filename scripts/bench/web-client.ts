/**
 * What a student's browser makes of a gateway answer, using the web app's own code: the answer goes
 * through the web app's mapping (web/lib/api/errors.ts, what its /api routes send the browser) and
 * the browser's retry (web/lib/client/retry.ts). So the soak counts an answer as expected only when
 * the real web client would handle it the same way: it waits out `starting` (503, 504 and 429
 * mapped, with Retry-After) for at most its patience, and shows everything else as an error.
 */
import { fromGateway } from '../../web/lib/api/errors.ts';
import { ApiError, type ErrorCode } from '../../web/lib/client/api.ts';
import { STARTING_PATIENCE_MS, whileStarting } from '../../web/lib/client/retry.ts';

export { STARTING_PATIENCE_MS, whileStarting };

/** The answer itself when it is a success; else throws the ApiError the browser would get. */
export async function asBrowserSees(res: Response): Promise<Response> {
  if (res.ok) return res;
  const mapped = await fromGateway(res);
  const body = (await mapped.json()) as { error: string; code: ErrorCode; retryAfter?: number; reason?: string };
  // The message names what the gateway said, for the report; the browser shows `body.error`.
  throw new ApiError(`${res.status} ${body.reason ?? '(no code)'}, shown as ${body.code}: ${body.error}`, body.code, body.retryAfter, body.reason);
}
