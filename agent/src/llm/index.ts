import type { ProviderChoice } from '../config.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createOpenAiProvider } from './openai.ts';
import type { LlmProvider } from './provider.ts';

export function createProvider(choice: ProviderChoice): LlmProvider {
  return choice.kind === 'anthropic' ? createAnthropicProvider(choice) : createOpenAiProvider(choice);
}
