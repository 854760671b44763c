/**
 * What the relay forwarded, as Prometheus counters on the gateway's registry: requests and tokens
 * by provider and model. Counted when an answer ends, as the usage store records it; the store keeps
 * the durable totals, these restart at zero with the gateway as counters do.
 */
import { Counter, type Registry } from 'prom-client';
import type { Usage } from './usage.ts';

/**
 * The model comes from the agent's request or the provider's answer: a steered agent could name a
 * new one on every call. Past this many distinct models the rest are counted as `other`, so the
 * scrape stays small.
 */
export const MAX_MODELS = 50;
const MAX_MODEL_LENGTH = 100;

export type UsageCounter = (provider: string, usage: Usage) => void;

export function relayMetrics(registry: Registry): UsageCounter {
  const registers = [registry];
  const requests = new Counter({
    name: 'nanobot_gateway_llm_requests_total',
    help: 'Calls the LLM relay forwarded and saw answered, by provider and model.',
    labelNames: ['provider', 'model'] as const,
    registers,
  });
  const tokens = new Counter({
    name: 'nanobot_gateway_llm_tokens_total',
    help: 'Tokens of calls through the LLM relay, as the providers reported them (estimated when they did not), by provider, model and kind (prompt, completion).',
    labelNames: ['provider', 'model', 'kind'] as const,
    registers,
  });
  const models = new Set<string>();
  const modelLabel = (model: string): string => {
    const label = model.slice(0, MAX_MODEL_LENGTH) || 'unknown';
    if (models.has(label)) return label;
    if (models.size >= MAX_MODELS) return 'other';
    models.add(label);
    return label;
  };
  return (provider, usage) => {
    const model = modelLabel(usage.model);
    requests.inc({ provider, model });
    tokens.inc({ provider, model, kind: 'prompt' }, usage.promptTokens);
    tokens.inc({ provider, model, kind: 'completion' }, usage.completionTokens);
  };
}
