import { ApiError } from './api.ts';

/** How long a request keeps retrying while the gateway says the tutor is still starting. */
export const STARTING_PATIENCE_MS = 120_000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

type Options = { since?: number; signal?: AbortSignal; onStarting?: () => void; patienceMs?: number };

/**
 * Runs `attempt` until it stops answering "starting" (503/504 while the student's container starts),
 * waiting as long as the gateway's Retry-After says, for at most `patienceMs`. Any other error, an
 * abort, or running out of patience is thrown to the caller.
 */
export async function whileStarting<T>(attempt: () => Promise<T>, { since = Date.now(), signal, onStarting, patienceMs = STARTING_PATIENCE_MS }: Options = {}): Promise<T> {
  while (true) {
    try {
      return await attempt();
    } catch (error) {
      const starting = error instanceof ApiError && error.code === 'starting';
      if (!starting || signal?.aborted || Date.now() - since > patienceMs) throw error;
      onStarting?.();
      await sleep((error.retryAfter ?? 2) * 1000, signal);
      if (signal?.aborted) throw error;
    }
  }
}
