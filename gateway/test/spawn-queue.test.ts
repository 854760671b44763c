import { expect, test } from 'bun:test';
import { SpawnQueue, SpawnQueueFull } from '../src/agents/spawn-queue.ts';

test('admits up to the limit at once and the rest first come, first served', async () => {
  const queue = new SpawnQueue(2, 10);
  const admitted: string[] = [];
  const releases = new Map<string, () => void>();
  const take = (key: string) => queue.acquire(key).then((release) => (admitted.push(key), releases.set(key, release)));
  const all = ['a', 'b', 'c', 'd', 'e'].map(take);
  await Bun.sleep(0);
  expect(admitted).toEqual(['a', 'b']);
  expect(queue.active).toBe(2);
  expect(queue.queued).toBe(3);
  releases.get('b')!();
  await Bun.sleep(0);
  expect(admitted).toEqual(['a', 'b', 'c']);
  releases.get('a')!();
  releases.get('a')!(); // a second release frees nothing more
  await Bun.sleep(0);
  expect(admitted).toEqual(['a', 'b', 'c', 'd']);
  expect(queue.active).toBe(2);
  releases.get('c')!();
  releases.get('d')!();
  await Promise.all(all);
  releases.get('e')!();
  expect(queue.active).toBe(0);
});

test('tells each waiter its place, and again as it moves up', async () => {
  const queue = new SpawnQueue(1, 10);
  const release = await queue.acquire('first');
  const heard: Record<string, number[]> = { b: [], c: [] };
  const b = queue.acquire('b', (p) => heard.b!.push(p));
  void queue.acquire('c', (p) => heard.c!.push(p));
  expect(queue.position('c')).toBe(2);
  release();
  await b;
  expect(heard).toEqual({ b: [1], c: [2, 1] });
  expect(queue.position('b')).toBeUndefined();
});

test('a key asking again keeps its place instead of queueing twice', async () => {
  const queue = new SpawnQueue(1, 2);
  const release = await queue.acquire('x');
  const first = queue.acquire('a');
  void queue.acquire('b');
  const again = queue.acquire('a');
  expect(again).toBe(first);
  expect(queue.queued).toBe(2);
  expect(queue.position('a')).toBe(1);
  release();
  await first;
});

test('a full queue refuses newcomers', async () => {
  const queue = new SpawnQueue(1, 1);
  await queue.acquire('x');
  void queue.acquire('a');
  expect(() => queue.acquire('b')).toThrow(SpawnQueueFull);
  expect(queue.queued).toBe(1);
});
