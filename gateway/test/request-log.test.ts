/** The request log at high rates: successful lines past the rate are counted, errors always written. */
import { expect, test } from 'bun:test';
import { Hono } from 'hono';
import type { Env } from '../src/env.ts';
import type { LogLine } from '../src/log.ts';
import { logger } from '../src/middleware/logger.ts';

function loggedApp(maxPerSecond: number) {
  const lines: LogLine[] = [];
  const app = new Hono<Env>();
  app.use(logger({ log: (line) => lines.push(line), maxPerSecond }));
  app.get('/ok', (c) => c.text('ok'));
  app.get('/bad', (c) => c.text('no', 400));
  app.get('/broken', (c) => c.text('no', 502));
  return { app, lines };
}

const requests = (lines: LogLine[]) => lines.filter((line) => line.msg === 'request');

test('past the rate, successful lines are counted and the count is written; every error line is written', async () => {
  const { app, lines } = loggedApp(10);
  const started = performance.now();
  for (let i = 0; i < 50; i += 1) await app.request('/ok');
  for (let i = 0; i < 30; i += 1) await app.request(i % 2 ? '/bad' : '/broken');
  // All within one or two seconds: at most 10 successful lines a second.
  const seconds = Math.ceil((performance.now() - started) / 1_000) + 1;
  const ok = requests(lines).filter((line) => line.status === 200).length;
  expect(ok).toBeGreaterThanOrEqual(10);
  expect(ok).toBeLessThanOrEqual(10 * seconds);
  expect(requests(lines).filter((line) => line.status === 400)).toHaveLength(15);
  expect(requests(lines).filter((line) => line.status === 502 && line.level === 'error')).toHaveLength(15);
  await Bun.sleep(1_300);
  const leftOut = lines.filter((line) => line.msg === 'request lines left out').reduce((sum, line) => sum + (line.count as number), 0);
  expect(ok + leftOut).toBe(50);
});

test('0 writes a line for every request', async () => {
  const { app, lines } = loggedApp(0);
  for (let i = 0; i < 300; i += 1) await app.request('/ok');
  expect(requests(lines)).toHaveLength(300);
});
