/** `bun run bench --only`: which phases run, in which order, and what is refused. */
import { expect, test } from 'bun:test';
import { PHASES, selectedPhases } from '../bench/plan.ts';
import { renderReport } from '../bench/report.ts';

test('every phase without --only; the named ones in run order with it', () => {
  expect(selectedPhases(undefined)).toEqual(PHASES);
  expect(selectedPhases('relay, floor')).toEqual(['floor', 'relay']);
});

test('an unknown or empty phase list is refused, naming the phases there are', () => {
  expect(() => selectedPhases('flor')).toThrow(/hotpath, floor/);
  expect(() => selectedPhases('')).toThrow(/--only/);
});

test('a report written between phases says which are still to run, and that only some were picked', () => {
  const machine = { lines: ['Date: now'] };
  const result = { rows: [{ measure: 'm', value: '1', baseline: '2', ratio: '0.50×' }], notes: [] };
  const partial = renderReport(machine, [result], 12, { only: true, pending: ['relay'] });
  expect(partial).toContain('Incomplete: still to run when this was written: relay.');
  expect(partial).toContain('Only some phases were run');
  expect(partial).toContain('| m | 1 | 2 | 0.50× |');
  const whole = renderReport(machine, [result], 12, { only: false, pending: [] });
  expect(whole).not.toContain('Incomplete');
  expect(whole).toContain('Whole run: 12 s');
});
