import type { AgentDefaults, ProviderChoice } from '../config.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { guardProvider } from './guard.ts';
import { createOpenAiProvider } from './openai.ts';
import type { LlmProvider } from './provider.ts';

/** The chosen provider's SDK client behind the deadlines, error wording and failure log of `guardProvider`. */
export function createProvider(choice: ProviderChoice, defaults: Pick<AgentDefaults, 'llmTimeoutSeconds' | 'llmFirstTokenSeconds'>): LlmProvider {
  const inner = choice.kind === 'anthropic' ? createAnthropicProvider(choice) : createOpenAiProvider(choice);
  return guardProvider(inner, {
    provider: choice.name,
    model: choice.model,
    apiKey: choice.apiKey,
    timeoutMs: defaults.llmTimeoutSeconds * 1000,
    firstChunkMs: Math.min(defaults.llmFirstTokenSeconds, defaults.llmTimeoutSeconds) * 1000,
  });
}
