/** HTTP load of fixed size: sequential latencies, concurrent throughput, first bytes of a stream. */

export type Call = () => Promise<Response>;

const REQUEST_TIMEOUT_MS = 10_000;
export const timeout = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);

async function complete(call: Call): Promise<void> {
  const res = await call();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}`);
}

/** Milliseconds of each of `count` requests made one after another, bodies read to the end. */
export async function latencies(count: number, call: Call): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await complete(call);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Requests per second for `total` requests kept `concurrency` in flight. */
export async function throughput(total: number, concurrency: number, call: Call): Promise<number> {
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued += 1;
        await complete(call);
      }
    }),
  );
  return total / ((performance.now() - started) / 1_000);
}

/**
 * Milliseconds from sending the request to the first body bytes. The rest is cancelled, or with
 * `drain` read to its end: a stream that ends normally leaves its connections open for the next
 * request on every hop, as a client's and a proxy's keep-alive do, where a cancelled one closes them
 * and the next sample pays a new connection per hop (two through a proxy, one direct).
 */
export async function timeToFirstByte(call: Call, { drain = false } = {}): Promise<number> {
  const started = performance.now();
  const res = await call();
  if (res.status !== 200 || !res.body) throw new Error(`expected a streamed 200, got ${res.status}`);
  const reader = res.body.getReader();
  const first = await reader.read();
  const elapsed = performance.now() - started;
  if (first.done) throw new Error('the stream ended before its first event');
  if (drain) while (!(await reader.read()).done);
  else await reader.cancel();
  return elapsed;
}

/** Milliseconds after the request at which each SSE event arrived, read to the end of the stream. */
export async function eventArrivals(call: Call): Promise<number[]> {
  const started = performance.now();
  const res = await call();
  if (res.status !== 200 || !res.body) throw new Error(`expected a streamed 200, got ${res.status}`);
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  let text = '';
  const reader = res.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    text += decoder.decode(read.value, { stream: true });
    const events = text.split('\n\n').length - 1;
    while (arrivals.length < events) arrivals.push(performance.now() - started);
  }
  return arrivals;
}

