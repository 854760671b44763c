/** setup's closing words about the LLM: the three cases, and never a key. */
import { expect, test } from 'bun:test';
import { llmSummary } from '../scripts/lib/llm-summary.ts';

const base = { configured: true as const, provider: 'openai', model: 'gpt-4o-mini', apiBase: 'https://api.openai.com/v1', keyConfigured: true, latencyMs: 120 };

test('configured and reachable, configured but failing (and why), or not configured', () => {
  expect(llmSummary({ ...base, reachable: true, status: 200 })).toBe('Tutors use gpt-4o-mini from openai (https://api.openai.com/v1): it answered a one-token test call.');
  const failing = llmSummary({ ...base, reachable: false, status: 401, error: '401 Incorrect API key provided: ***' });
  expect(failing).toContain('but a one-token test call failed');
  expect(failing).toContain('401 Incorrect API key provided: ***');
  expect(failing).toContain('Fix config.json');
  const missing = llmSummary({ configured: false, reachable: false, error: 'No LLM provider is configured.' });
  expect(missing).toStartWith('Tutors need an LLM key');
  expect(missing).toContain('No LLM provider is configured.');
});
