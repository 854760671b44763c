/** The admin API and /metrics against the real Docker Engine, with the test agent of fixtures/. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { identityFor } from '../src/identity.ts';
import { LABELS } from '../src/runtime/labels.ts';
import { eventually } from '../../test/support/eventually.ts';
import { AGENT_IMAGE, buildTestAgent, createTestBed, startTestGateway, type TestGateway } from './docker-harness.ts';
import { authHeaders } from './helpers.ts';
import { parsePrometheus, sampleValue } from './prometheus.ts';

const ADMIN = 'admin-token-for-the-docker-tests';
const METRICS = 'metrics-token-for-the-docker-tests';
const SECRET = 'sk-live-0123456789abcdefghijklmnop';

let bed: Awaited<ReturnType<typeof createTestBed>>;
let gateway: TestGateway;
let other: TestGateway;
const run = crypto.randomUUID().slice(0, 8);
const email = (name: string) => `${name}.${run}@example.com`;

beforeAll(async () => {
  bed = await createTestBed();
  await buildTestAgent();
  gateway = await startTestGateway({ ...bed.env, ADMIN_TOKEN: ADMIN, METRICS_TOKEN: METRICS });
  other = await startTestGateway({ ...bed.env, GATEWAY_INSTANCE: bed.instanceNamed('other'), ADMIN_TOKEN: ADMIN });
}, 300_000);

afterAll(async () => {
  await gateway?.stop();
  await other?.stop();
  await bed?.cleanup();
}, 60_000);

const call = (g: TestGateway, path: string, user: string, extra: Record<string, string> = {}) => fetch(`${g.url}${path}`, { headers: authHeaders(user, extra) });
const admin = (path: string, method = 'GET', g = gateway) => fetch(`${g.url}${path}`, { method, headers: { Authorization: `Bearer ${ADMIN}` } });
const running = async (userId: string) => {
  const [found] = await bed.docker.listContainers({ all: true, filters: { label: [`${LABELS.userId}=${userId}`, `${LABELS.instance}=${bed.instance}`] } });
  return found === undefined ? undefined : found.State === 'running';
};

type Agent = { userId: string; email: string; state: string; image: string; outdated: boolean; memoryBytes: number | null; restarts: number; lastActivity: string | null; startedAt: string | null };

test('the list, the detail with its masked log, and the metrics show what the agents did', async () => {
  const ada = identityFor(email('ada'));
  const bo = identityFor(email('bo'));
  expect((await call(gateway, '/memory', email('ada'), { 'x-test-log': `calling the provider with apiKey=${SECRET} as ${ada.id}` })).status).toBe(200);
  const failed = await call(gateway, '/chat', email('bo'), { 'x-test-error': 'llm_failed' });
  expect(failed.status).toBe(502);
  expect(((await failed.json()) as { code: string }).code).toBe('llm_failed');

  const listed = (await (await admin('/admin/agents')).json()) as { agents: Agent[] };
  expect(listed.agents.map((a) => a.userId).sort()).toEqual([ada.id, bo.id].sort());
  for (const agent of listed.agents) {
    expect(agent).toMatchObject({ state: 'running', image: AGENT_IMAGE, outdated: false, restarts: 0 });
    expect(agent.memoryBytes).toBeGreaterThan(1_000_000);
    expect(agent.lastActivity).not.toBeNull();
    expect(agent.startedAt).not.toBeNull();
  }
  expect(listed.agents.find((a) => a.userId === ada.id)?.email).toBe(email('ada'));

  const detail = (await (await admin(`/admin/agents/${ada.id}`)).json()) as { agent: Agent; log: string[] };
  const line = detail.log.find((l) => l.includes('calling the provider'));
  expect(line).toBe(`calling the provider with apiKey=*** as ${ada.id}`);
  expect(JSON.stringify(detail)).not.toContain(SECRET);

  const res = await fetch(`${gateway.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS}` } });
  expect(res.status).toBe(200);
  const samples = parsePrometheus(await res.text());
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: '/memory', status_class: '2xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_requests_total', { route: '/chat', status_class: '5xx' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agent_errors_total', { code: 'llm_failed' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_spawn_seconds_count')).toBe(2);
  expect(sampleValue(samples, 'nanobot_gateway_proxy_seconds_count', { route: '/chat' })).toBe(1);
  expect(sampleValue(samples, 'nanobot_gateway_agents', { state: 'running' })).toBe(2);
  expect(sampleValue(samples, 'nanobot_gateway_spawn_failures_total')).toBeUndefined();
}, 120_000);

test('stop, restart and remove act on the container; the data folder stays', async () => {
  const cy = identityFor(email('cy'));
  expect((await call(gateway, '/memory', email('cy'), { 'x-test-write': 'kept' })).status).toBe(200);
  expect((await admin(`/admin/agents/${cy.id}/stop`, 'POST')).status).toBe(200);
  expect(await running(cy.id)).toBe(false);
  expect((await admin(`/admin/agents/${cy.id}/restart`, 'POST')).status).toBe(202);
  await eventually(async () => expect(await running(cy.id)).toBe(true), 30_000, 100);
  const again = (await (await call(gateway, '/memory', email('cy'))).json()) as { marker: string };
  expect(again.marker).toBe('kept');
  const removed = await admin(`/admin/agents/${cy.id}`, 'DELETE');
  expect(await removed.json()).toEqual({ userId: cy.id, removed: true, dataKept: true });
  expect(await running(cy.id)).toBeUndefined();
  expect(existsSync(join(bed.dataDir, cy.id, 'marker.txt'))).toBe(true);
}, 120_000);

test('restarting, removing or deleting a student busy answering: requests meanwhile wait and are served, and nothing counts as a crash', async () => {
  const acts = { restart: (id: string) => admin(`/admin/agents/${id}/restart`, 'POST'), remove: (id: string) => admin(`/admin/agents/${id}`, 'DELETE'), delete: (id: string) => admin(`/admin/users/${id}?confirm=${id}`, 'DELETE') };
  for (const action of ['restart', 'remove', 'delete'] as const) {
    const user = email(`busy-${action}`);
    const { id } = identityFor(user);
    expect((await call(gateway, '/memory', user, { 'x-test-write': 'before' })).status).toBe(200);
    const [before] = await bed.containers([`${LABELS.userId}=${id}`]);
    const answer = await call(gateway, '/chat', user, { 'x-test-mode': 'sse', 'x-test-events': '8', 'x-test-gap-ms': '250' });
    expect(answer.status).toBe(200);
    const streamed = answer.text();
    const acting = acts[action](id);
    // The stop has begun and waits for the answer in flight.
    await Bun.sleep(300);
    const meanwhile = await Promise.all(Array.from({ length: 4 }, () => call(gateway, '/files', user)));
    expect(meanwhile.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    const acted = await acting;
    if (action === 'restart') expect(acted.status).toBe(202);
    else if (action === 'remove') expect(await acted.json()).toEqual({ userId: id, removed: true, dataKept: true });
    else expect(await acted.json()).toMatchObject({ userId: id, containerRemoved: true, dataMovedTo: expect.stringMatching(/^\.deleted\//) });
    // The agent finished the answer in flight before it stopped.
    expect(await streamed).toContain('"i":7');
    await eventually(async () => expect(await running(id)).toBe(true), 30_000, 100);
    const [after] = await bed.containers([`${LABELS.userId}=${id}`]);
    if (action !== 'restart') expect(after!.Id).not.toBe(before!.Id);
    // The folder was moved before the waiting requests started the agent again: they got a fresh one.
    expect(existsSync(join(bed.dataDir, id, 'marker.txt'))).toBe(action !== 'delete');
    const { agent } = (await (await admin(`/admin/agents/${id}`)).json()) as { agent: Agent & { lastFailure: unknown } };
    expect(agent).toMatchObject({ state: 'running', lastFailure: null });
  }
}, 120_000);

test('deleting a student removes the container and moves the folder to .deleted; another instance’s agent is out of reach', async () => {
  const di = identityFor(email('di'));
  expect((await call(gateway, '/memory', email('di'), { 'x-test-write': 'to be deleted' })).status).toBe(200);
  expect((await admin(`/admin/users/${di.id}`, 'DELETE')).status).toBe(400);
  const deleted = (await (await admin(`/admin/users/${di.id}?confirm=${di.id}`, 'DELETE')).json()) as { dataMovedTo: string };
  expect(await running(di.id)).toBeUndefined();
  expect(existsSync(join(bed.dataDir, di.id))).toBe(false);
  expect(existsSync(join(bed.dataDir, deleted.dataMovedTo, 'marker.txt'))).toBe(true);
  expect(readdirSync(join(bed.dataDir, '.deleted')).some((n) => n.startsWith(`${di.id}-`))).toBe(true);

  // An agent of the other gateway instance: this one neither lists, stops nor removes it.
  const ed = identityFor(email('ed'));
  expect((await call(other, '/memory', email('ed'))).status).toBe(200);
  expect((await admin(`/admin/agents/${ed.id}`)).status).toBe(404);
  expect((await admin(`/admin/agents/${ed.id}/stop`, 'POST')).status).toBe(404);
  expect((await admin(`/admin/agents/${ed.id}`, 'DELETE')).status).toBe(404);
  const listed = (await (await admin('/admin/agents')).json()) as { agents: Agent[] };
  expect(listed.agents.some((a) => a.userId === ed.id)).toBe(false);
  const theirs = (await (await admin('/admin/agents', 'GET', other)).json()) as { agents: Agent[] };
  expect(theirs.agents.map((a) => a.userId)).toEqual([ed.id]);
}, 120_000);
