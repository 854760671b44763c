/**
 * Issue 17: a hung agent on the real engine (the test agent of fixtures/ blocks its whole process on
 * cue, as a deadlock would) is stopped by the gateway itself after HUNG_AGENT_RESTART_AFTER, with one
 * log line and the metric; the student's next request starts it again with their data. Another
 * student's agent, busy streaming a long answer all the while, is left alone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { identityFor } from '../src/identity.ts';
import type { LogLine } from '../src/log.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { eventually } from '../../test/support/eventually.ts';
import { buildTestAgent, createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';

const run = crypto.randomUUID().slice(0, 8);
const METRICS = 'metrics-token-for-the-hung-test';
const RESTART_AFTER_MS = 3_000;

let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;
const lines: LogLine[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  gateway = await startTestGateway(
    { ...bed.env, HUNG_AGENT_RESTART_AFTER: String(RESTART_AFTER_MS), HEALTH_RECHECK_TIMEOUT: '500', UPSTREAM_TIMEOUT_MS: '30000', METRICS_TOKEN: METRICS },
    { log: (line) => lines.push(line) },
  );
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await bed?.cleanup();
}, 120_000);

const call = (path: string, user: string, headers: Record<string, string> = {}) => fetch(`${gateway.url}${path}`, { headers: authHeaders(user, headers) });

async function containerOf(user: string) {
  const [found] = await bed.containers([`${LABELS.userId}=${identityFor(user).id}`]);
  return bed.docker.getContainer(found!.Id).inspect();
}

test('a frozen agent is stopped after HUNG_AGENT_RESTART_AFTER and its next request starts it with its data; a busy one streaming all along is left alone', async () => {
  const frozen = `frozen.${run}@example.com`;
  const busy = `busy.${run}@example.com`;
  expect((await call('/memory', frozen, { 'x-test-write': 'kept across the restart' })).status).toBe(200);
  expect((await call('/memory', busy)).status).toBe(200);
  const busyStarted = (await containerOf(busy)).State.StartedAt;

  // 40 events 300 ms apart: the busy agent streams for 12 s, well past the hung agent's stop.
  const stream = await call('/chat', busy, { 'x-test-mode': 'sse', 'x-test-events': '40' });
  expect(stream.status).toBe(200);
  const streamed = stream.text();

  const froze = performance.now();
  expect((await call('/memory', frozen, { 'x-test-mode': 'freeze' })).status).toBe(200);
  const line = await eventually(() => {
    const found = lines.find((l) => l.event === 'hung_restart');
    if (!found) throw new Error('no hung_restart line yet');
    return found;
  }, 60_000);
  const tookMs = performance.now() - froze;
  expect(tookMs).toBeGreaterThanOrEqual(RESTART_AFTER_MS);
  expect(line).toMatchObject({ level: 'warn', userId: identityFor(frozen).id });
  expect(JSON.stringify(line)).not.toContain('@');
  expect((await containerOf(frozen)).State.Running).toBe(false);

  const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS}` } })).text();
  expect(metrics).toContain('nanobot_gateway_hung_restarts_total 1');

  // Started again by the next request, with the data it had.
  const again = await call('/memory', frozen);
  expect(again.status).toBe(200);
  expect(((await again.json()) as { marker: string }).marker).toBe('kept across the restart');

  const events = (await streamed).split('\n\n').filter((block) => block.startsWith('data: '));
  expect(events).toHaveLength(40);
  expect((await containerOf(busy)).State.StartedAt).toBe(busyStarted);
  expect(lines.filter((l) => l.event === 'hung_restart')).toHaveLength(1);
  console.log(`hung agent stopped ${Math.round(tookMs)} ms after it froze (HUNG_AGENT_RESTART_AFTER ${RESTART_AFTER_MS} ms)`);
}, 120_000);
