import { expect, test } from 'bun:test';
import { parseDuration } from '../src/duration.ts';

test('reads durations with a unit, and plain numbers as milliseconds', () => {
  expect(parseDuration('90s')).toBe(90_000);
  expect(parseDuration('30m')).toBe(1_800_000);
  expect(parseDuration('7d')).toBe(604_800_000);
  expect(parseDuration('2h')).toBe(7_200_000);
  expect(parseDuration('250ms')).toBe(250);
  expect(parseDuration('1.5s')).toBe(1_500);
  expect(parseDuration(' 45S ')).toBe(45_000);
  expect(parseDuration('1500')).toBe(1_500);
  expect(parseDuration('0')).toBe(0);
});

test('refuses anything else', () => {
  for (const bad of ['', 'm', '-5s', '5 minutes', '5w', '1e3', 'Infinity', '30m5s', '9'.repeat(30)]) expect(parseDuration(bad)).toBeUndefined();
});
