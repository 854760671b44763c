/**
 * The relay's tokens in the gateway's metrics, by provider and model: calls through a real relay
 * listener to the fake provider, then GET /metrics scraped and parsed as Prometheus would.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startFakeLlm, type FakeLlm } from '../../agent/test/fake-llm.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import { createApp } from '../src/app.ts';
import { createMetrics } from '../src/metrics.ts';
import { relayKey } from '../src/relay/keys.ts';
import { MAX_MODELS, relayMetrics } from '../src/relay/metrics.ts';
import type { UsageStore } from '../src/relay/store.ts';
import { stubRuntime, testSettings, trustingUsers } from './helpers.ts';
import { parsePrometheus, sampleValue } from './prometheus.ts';
import { startTestRelay, type TestRelay } from './test-relay.ts';

const SECRET = 'relay-metrics-secret';
const ADMIN = 'relay-metrics-admin-token';

let llm: FakeLlm;
let store: UsageStore;
let relay: TestRelay;
const metrics = createMetrics();
const gateway = createApp({ settings: testSettings({ ADMIN_TOKEN: ADMIN }), runtime: stubRuntime, users: trustingUsers(), routes: new RouteTable(), metrics, log: () => {} });

beforeAll(async () => {
  llm = startFakeLlm({ chunkDelayMs: 1 });
  relay = await startTestRelay({
    providers: { openai: { apiKey: 'sk-metrics-0123456789', apiBase: llm.url }, deepseek: { apiKey: 'sk-ds-0123456789', apiBase: llm.url } },
    secret: SECRET,
    countUsage: relayMetrics(metrics.registry),
  });
  store = relay.store;
});

afterAll(async () => {
  await relay?.stop();
  await llm?.stop();
});

async function chat(provider: string, model: string, stream: boolean): Promise<void> {
  const res = await fetch(`${relay.url}/llm/${provider}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${relayKey(SECRET, 'ada-1')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

async function scrape() {
  const res = await gateway.request('/metrics', { headers: { Authorization: `Bearer ${ADMIN}` } });
  expect(res.status).toBe(200);
  return parsePrometheus(await res.text());
}

test('tokens and requests through the relay are counted by provider, model and kind, as the usage store has them', async () => {
  await chat('openai', 'gpt-small', false);
  await chat('openai', 'gpt-small', true);
  await chat('deepseek', 'ds-chat', true);
  // Usage is recorded when the answer's stream has ended on the relay's side.
  await Bun.sleep(20);
  const samples = await scrape();
  const value = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);
  expect(value('nanobot_gateway_llm_requests_total', { provider: 'openai', model: 'gpt-small' })).toBe(2);
  expect(value('nanobot_gateway_llm_requests_total', { provider: 'deepseek', model: 'ds-chat' })).toBe(1);
  for (const { provider, model, promptTokens, completionTokens } of store.byModel()) {
    expect(value('nanobot_gateway_llm_tokens_total', { provider, model, kind: 'prompt' })).toBe(promptTokens);
    expect(value('nanobot_gateway_llm_tokens_total', { provider, model, kind: 'completion' })).toBe(completionTokens);
  }
  expect(value('nanobot_gateway_llm_tokens_total', { provider: 'deepseek', model: 'ds-chat', kind: 'completion' })).toBeGreaterThan(0);
});

test('a steered agent naming a new model on every call cannot grow the scrape without bound', async () => {
  for (let i = 0; i < MAX_MODELS + 5; i += 1) await chat('openai', `made-up-${i}`, false);
  await Bun.sleep(20);
  const models = new Set((await scrape()).filter((s) => s.name === 'nanobot_gateway_llm_requests_total').map((s) => s.labels.model));
  expect(models.size).toBeLessThanOrEqual(MAX_MODELS + 1);
  expect(models.has('other')).toBe(true);
});
