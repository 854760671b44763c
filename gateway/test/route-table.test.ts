/** The route table following a runtime's events: the only record of where agents listen. */
import { expect, test } from 'bun:test';
import { RouteTable } from '../src/agents/route-table.ts';
import type { AgentEvent, AgentRuntime, AgentSummary, RunningAgent } from '../src/runtime/types.ts';

const agent = (userId: string, instanceId: string): RunningAgent => ({ userId, instanceId, url: `http://${instanceId}.test:8000` });
const summary = (userId: string, instanceId: string, running = true): AgentSummary =>
  running ? { ...agent(userId, instanceId), outdated: false, running } : { userId, instanceId, outdated: false, running };

test('follows starts and goings, looking up only agents it does not know yet', async () => {
  const located: string[] = [];
  const events: AgentEvent[] = [
    { type: 'started', userId: 'ada', instanceId: 'c-ada' },
    { type: 'started', userId: 'bob', instanceId: 'c-bob' },
    { type: 'gone', userId: 'cy', instanceId: 'c-cy-old' },
  ];
  const runtime: AgentRuntime = {
    ensure: async () => agent('x', 'x'),
    locate: async (instanceId) => {
      located.push(instanceId);
      return agent(instanceId.slice(2), instanceId);
    },
    // What runs at the adoption scan: the two agents the table already knows.
    list: async () => [summary('ada', 'c-ada'), summary('cy', 'c-cy-new')],
    // A stream that stays open until the table stops following it, as the engine's does.
    async *events(signal) {
      yield* events;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
    find: async () => undefined,
    stop: async () => {},
    remove: async () => {},
    checkReady: async () => {},
    watchExit: () => new Promise(() => {}),
    revision: async () => 'r',
  };
  const routes = new RouteTable();
  routes.set(agent('ada', 'c-ada'));
  routes.set(agent('cy', 'c-cy-new'));
  const following = new AbortController();
  const adopted = Promise.withResolvers<void>();
  const done = routes.follow(runtime, following.signal, () => {}, adopted.resolve);
  await adopted.promise;
  await Bun.sleep(10);
  following.abort();
  await done;

  expect(located).toEqual(['c-bob']);
  expect(routes.get('bob')?.instanceId).toBe('c-bob');
  expect(routes.get('ada')?.instanceId).toBe('c-ada');
  // A newer instance replaced the one that went away: its route stays.
  expect(routes.get('cy')?.instanceId).toBe('c-cy-new');
});

test('an adoption scan forgets routes of agents that stopped unseen, but not one learnt during the scan', async () => {
  const routes = new RouteTable();
  routes.set(agent('ada', 'c-ada'));
  routes.set(agent('bob', 'c-bob'));
  const runtime = {
    // Bob's agent stopped while no events arrived (a restarted engine); Cy's starts while the scan runs.
    list: async () => {
      routes.set(agent('cy', 'c-cy'));
      return [summary('ada', 'c-ada'), summary('bob', 'c-bob', false)];
    },
  } as unknown as AgentRuntime;
  expect(await routes.adopt(runtime)).toBe(1);
  expect(routes.get('ada')?.instanceId).toBe('c-ada');
  expect(routes.get('bob')).toBeUndefined();
  expect(routes.get('cy')?.instanceId).toBe('c-cy');
});
