/** Waiting for something to become true, for tests and benchmarks alike. */

/** Retries a check until it passes (its result is returned) or the time is up, then throws its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await Bun.sleep(intervalMs);
    }
  }
}

/** Polls a URL until it answers below 500 (redirects count as up). */
export async function waitForUrl(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url, { redirect: 'manual' }).then((r) => r.status, () => 0);
    if (status >= 200 && status < 500) return;
    await Bun.sleep(500);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Polls GET /health every intervalMs until it answers 200, or throws at the deadline (epoch ms). */
export async function pollHealth(url: string, deadline: number, intervalMs = 25): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`${url}/health did not answer within the deadline`);
}
