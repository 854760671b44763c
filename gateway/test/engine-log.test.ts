/** Issue 11, item 6: the engine's own doings (exits with their code, restarts, removals) as one JSON line each. */
import { expect, test } from 'bun:test';
import { logEngineEvent } from '../src/agents/engine-log.ts';
import type { LogLine } from '../src/log.ts';

test('exits name their code, engine restarts their count, removals say so; a plain start is the lifecycle\'s to log', () => {
  const lines: LogLine[] = [];
  const log = (line: LogLine) => lines.push(line);
  logEngineEvent(log, { type: 'gone', userId: 'ada-0123456789', instanceId: 'c1', exitCode: 3 });
  logEngineEvent(log, { type: 'started', userId: 'ada-0123456789', instanceId: 'c1', restarts: 2 });
  logEngineEvent(log, { type: 'gone', userId: 'ada-0123456789', instanceId: 'c1', exitCode: 0 });
  logEngineEvent(log, { type: 'gone', userId: 'ada-0123456789', instanceId: 'c1', removed: true });
  logEngineEvent(log, { type: 'started', userId: 'ada-0123456789', instanceId: 'c1' });
  expect(lines).toEqual([
    { level: 'warn', msg: 'agent exited with code 3', event: 'exited', userId: 'ada-0123456789', instanceId: 'c1', exitCode: 3 },
    { level: 'warn', msg: 'agent restarted by the engine (2)', event: 'restarted', userId: 'ada-0123456789', instanceId: 'c1', restarts: 2 },
    { level: 'info', msg: 'agent exited with code 0', event: 'exited', userId: 'ada-0123456789', instanceId: 'c1', exitCode: 0 },
    { level: 'info', msg: 'agent container removed', event: 'removed', userId: 'ada-0123456789', instanceId: 'c1' },
  ]);
});
