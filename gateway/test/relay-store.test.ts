/** The usage store on a real SQLite file: today's totals the limits read, kept in memory, agree with the file. */
import { afterEach, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageStore } from '../src/relay/store.ts';

let dir = '';
afterEach(() => rm(dir, { recursive: true, force: true }));

const usage = (promptTokens: number, completionTokens: number) => ({ model: 'm', promptTokens, completionTokens });

test("today's tokens count what is recorded at once, survive a restart, and start from nothing the next day", async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbtest-usage-'));
  const path = join(dir, '.state', 'usage.db');
  const yesterday = new Date('2030-03-01T23:59:00Z');
  const today = new Date('2030-03-02T09:00:00Z');
  const tomorrow = new Date('2030-03-03T00:00:01Z');

  const store = new UsageStore(path);
  store.record('ada-1', 'openai', usage(900, 100), yesterday);
  store.record('ada-1', 'openai', usage(30, 10), today);
  store.record('bob-2', 'anthropic', usage(5, 5), today);
  expect(store.tokensToday('ada-1', today)).toBe(40);
  expect(store.globalTokensToday(today)).toBe(50);
  // Recorded after the totals were read: counted without another look at the file.
  // Rounded alike in the file and in memory: 2.5 and 2.5 are stored as 3 and 3 (Math.round).
  store.record('ada-1', 'custom', usage(2.5, 2.5), today);
  expect(store.tokensToday('ada-1', today)).toBe(46);
  expect(store.globalTokensToday(today)).toBe(56);
  expect(store.tokensToday('cy-3', today)).toBe(0);
  store.close();

  const reopened = new UsageStore(path);
  expect(reopened.tokensToday('ada-1', today)).toBe(46);
  expect(reopened.tokensToday('bob-2', today)).toBe(10);
  expect(reopened.globalTokensToday(today)).toBe(56);
  expect(reopened.tokensToday('ada-1', tomorrow)).toBe(0);
  // A record dated the day before the one held in memory goes to the file only.
  reopened.record('ada-1', 'openai', usage(7, 0), today);
  expect(reopened.tokensToday('ada-1', tomorrow)).toBe(0);
  expect(reopened.globalTokensToday(tomorrow)).toBe(0);
  expect(reopened.tokensToday('ada-1', today)).toBe(53);
  expect(reopened.totals(today).today).toEqual({ requests: 4, promptTokens: 45, completionTokens: 18 });
  reopened.close();
});
