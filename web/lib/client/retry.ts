import { ApiError } from './api.ts';

/**
 * How long a request keeps retrying after the gateway first says the tutor is still starting. The time the
 * gateway held the request before that (its start queue, its own START_TIMEOUT_MS) does not count: the
 * gateway bounds it, and a student who waited in a busy morning's queue should not then be shown an error
 * while the tutor is still coming up.
 */
export const STARTING_PATIENCE_MS = 120_000;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

type Options = { signal?: AbortSignal; onStarting?: () => void; patienceMs?: number };

/**
 * Runs `attempt` until it stops answering "starting" (503/504 while the student's container starts),
 * waiting as long as the gateway's Retry-After says, for at most `patienceMs` from the first such answer.
 * Any other error, an abort, or running out of patience is thrown to the caller.
 */
export async function whileStarting<T>(attempt: () => Promise<T>, { signal, onStarting, patienceMs = STARTING_PATIENCE_MS }: Options = {}): Promise<T> {
  let firstStarting: number | undefined;
  while (true) {
    try {
      return await attempt();
    } catch (error) {
      const starting = error instanceof ApiError && error.code === 'starting';
      firstStarting ??= Date.now();
      if (!starting || signal?.aborted || Date.now() - firstStarting >= patienceMs) throw error;
      onStarting?.();
      await sleep((error.retryAfter ?? 2) * 1000, signal);
      if (signal?.aborted) throw error;
    }
  }
}
