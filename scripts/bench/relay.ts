/** 6. The LLM relay's added latency to the first streamed chunk, against calling the provider directly. */
import { readFile } from 'node:fs/promises';
import type { FakeLlm } from '../../agent/test/fake-llm.ts';
import { identityFor } from '../../gateway/src/identity.ts';
import { agentConfigPath } from '../../gateway/src/relay/agent-config.ts';
import { startBareProxy } from './baselines.ts';
import { timeToFirstByte, timeout, type Call } from './load.ts';
import { halfDrift, type Bench, type Result, type Row } from './phases.ts';
import { median, ms, quantile, ratio } from './stats.ts';

const SAMPLES = 300;
/**
 * Calls per side before measuring. The relay's code is compiled by JavaScriptCore's optimising tiers
 * only after some hundreds of calls (a relay serving a class is past that within minutes), while the
 * bare pass-through has almost no code of its own to compile. In a host harness, with 30 warm-up
 * calls the relay added 0.40-0.46 ms to the first chunk over the bare pass-through, after 1,000 0.21 ms.
 */
const WARMUP = 200;

/** The provider the bench's config.json names for the relay: `custom`, an OpenAI-compatible fake. */
export const BENCH_PROVIDER = 'custom';
export const BENCH_PROVIDER_KEY = 'nbbench-provider-key';

function streamedChat(base: string, key: string): Call {
  const body = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  return () =>
    fetch(`${base}/chat/completions`, {
      method: 'POST',
      signal: timeout(),
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body,
    });
}

/** `email`'s agent must exist: its keyless config says where the relay is and holds its relay key. */
export async function relayLatency(bench: Bench, email: string, llm: FakeLlm): Promise<Result> {
  const config = JSON.parse(await readFile(agentConfigPath(bench.dataDir, identityFor(email).id), 'utf8')) as {
    providers: Record<string, { apiKey: string; apiBase: string }>;
  };
  const entry = config.providers[BENCH_PROVIDER];
  if (!entry) throw new Error(`the agent's config has no ${BENCH_PROVIDER} provider`);
  const relayed = streamedChat(entry.apiBase, entry.apiKey);
  const direct = streamedChat(llm.url, BENCH_PROVIDER_KEY);
  // The floor for any relay in Bun: one more process between the SDK and the provider, doing nothing.
  const bare = await startBareProxy(llm.url);
  const passedThrough = streamedChat(bare.url, BENCH_PROVIDER_KEY);
  // Each stream is read to its end (a few ms): the agent's SDK and the relay keep their connections then.
  const sample = (call: Call) => timeToFirstByte(call, { drain: true });
  const viaRelay: number[] = [];
  const baseline: number[] = [];
  const viaBare: number[] = [];
  try {
    for (let i = 0; i < WARMUP; i += 1) {
      await sample(relayed);
      await sample(direct);
      await sample(passedThrough);
    }
    for (let i = 0; i < SAMPLES; i += 1) {
      // Rotating order, so drift on a shared machine hits every side alike.
      const sides: [Call, number[]][] = [[relayed, viaRelay], [direct, baseline], [passedThrough, viaBare]];
      for (let k = 0; k < sides.length; k += 1) {
        const [call, samples] = sides[(i + k) % sides.length]!;
        samples.push(await sample(call));
      }
    }
  } finally {
    await bare.stop();
  }
  const keys = new Set(llm.apiKeys);
  if (keys.size !== 1 || !keys.has(BENCH_PROVIDER_KEY)) throw new Error('the fake provider saw a key other than the real one');
  const rows: Row[] = [
    { measure: 'LLM stream, time to first chunk via the relay, median', value: ms(median(viaRelay)), baseline: ms(median(baseline)), ratio: ratio(median(viaRelay), median(baseline)) },
    { measure: 'LLM stream, time to first chunk the relay adds, p50 (target ≤ 1 ms)', value: ms(median(viaRelay) - median(baseline)), baseline: '0 ms', ratio: '–' },
    { measure: 'LLM stream, time to first chunk a bare Bun pass-through adds, p50 (the floor for any relay in Bun)', value: ms(median(viaBare) - median(baseline)), baseline: '0 ms', ratio: '–' },
    { measure: 'LLM stream, time to first chunk the relay adds over the bare Bun pass-through, p50', value: ms(median(viaRelay) - median(viaBare)), baseline: ms(median(viaBare)), ratio: ratio(median(viaRelay), median(viaBare)) },
    { measure: 'LLM stream, time to first chunk via the relay, p95', value: ms(quantile(viaRelay, 0.95)), baseline: ms(quantile(baseline, 0.95)), ratio: ratio(quantile(viaRelay, 0.95), quantile(baseline, 0.95)) },
  ];
  return {
    rows,
    notes: [
      `LLM relay: ${SAMPLES} streamed chat completions per side after ${WARMUP} warm-up ones, in rotating order, from the host to the fake OpenAI-compatible provider: directly (baseline), through a bare Bun.serve -> fetch pass-through in its own process (the floor: one more process hop and nothing else) and through the relay at ${new URL(entry.apiBase).host} (relay key checked, limits checked, the real key added, usage metered and stored when each stream ends); each stream read to its end, so connections are kept as the agent's SDK keeps them. Added to the first chunk: ${ms(median(viaRelay) - median(baseline))} at the median; the first half of the samples against the second moved it by ${ms(Math.abs(halfDrift(viaRelay, baseline)))}.`,
    ],
  };
}
