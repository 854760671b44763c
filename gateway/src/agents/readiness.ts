/** Waits for a freshly started agent to answer its health check. */
import { GatewayError } from '../errors.ts';

export type WaitOptions = {
  timeoutMs: number;
  fetch?: typeof fetch;
  /** First pause between probes; it doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
};

async function isHealthy(url: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetchImpl(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Polls `GET /health` with exponential backoff; throws a 504 GatewayError once timeoutMs has passed. */
export async function waitUntilHealthy(
  url: string,
  { timeoutMs, fetch: fetchImpl = fetch, initialDelayMs = 25, maxDelayMs = 1_000 }: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = initialDelayMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    if (await isHealthy(url, fetchImpl, Math.min(remaining, maxDelayMs * 2))) return;
    const pause = Math.min(delay, deadline - Date.now());
    if (pause <= 0) break;
    await Bun.sleep(pause);
    delay = Math.min(delay * 2, maxDelayMs);
  }
  throw new GatewayError(504, 'agent_start_timeout', `The agent did not become healthy within ${timeoutMs} ms.`);
}
