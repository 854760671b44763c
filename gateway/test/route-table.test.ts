/** The route table following a runtime's events: the only record of where agents listen. */
import { expect, test } from 'bun:test';
import { RouteTable } from '../src/agents/route-table.ts';
import type { AgentEvent, AgentRuntime, RunningAgent } from '../src/runtime/types.ts';

const agent = (userId: string, instanceId: string): RunningAgent => ({ userId, instanceId, url: `http://${instanceId}.test:8000` });

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
    list: async () => [],
    async *events() {
      yield* events;
    },
    find: async () => undefined,
    stop: async () => {},
    remove: async () => {},
    checkReady: async () => {},
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
