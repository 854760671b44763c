import { describe, expect, test } from 'bun:test';
import { FIRST_BACKOFF_MS, MAX_BACKOFF_MS, StartBackoff } from '../src/agents/start-backoff.ts';

function clocked() {
  let now = 1_000_000;
  const backoff = new StartBackoff(() => now);
  return { backoff, advance: (ms: number) => (now += ms) };
}

describe('StartBackoff', () => {
  test('nobody is backed off until a start fails', () => {
    const { backoff } = clocked();
    expect(backoff.has('u')).toBe(false);
    expect(backoff.check('u', 'r1')).toBeUndefined();
  });

  test('waits 5 s after a failure, doubling per failure up to 5 min', () => {
    const { backoff, advance } = clocked();
    const delays = Array.from({ length: 9 }, () => {
      const delay = backoff.fail('u', 'r1', 'exited with code 1');
      advance(delay);
      return delay;
    });
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300].map((s) => s * 1000));
    expect(delays[0]).toBe(FIRST_BACKOFF_MS);
    expect(Math.max(...delays)).toBe(MAX_BACKOFF_MS);
  });

  test('answers the reason and the time left while backed off, nothing once it has passed', () => {
    const { backoff, advance } = clocked();
    backoff.fail('u', 'r1', 'exited with code 1: Error: No API key configured.');
    advance(2_000);
    expect(backoff.check('u', 'r1')).toEqual({ reason: 'exited with code 1: Error: No API key configured.', retryAfterMs: 3_000 });
    expect(backoff.check('other', 'r1')).toBeUndefined();
    advance(3_000);
    expect(backoff.check('u', 'r1')).toBeUndefined();
  });

  test('a changed image or config clears the back-off at once and starts the count again', () => {
    const { backoff } = clocked();
    backoff.fail('u', 'r1', 'x');
    backoff.fail('u', 'r1', 'x');
    expect(backoff.check('u', 'r2')).toBeUndefined();
    expect(backoff.has('u')).toBe(false);
    expect(backoff.fail('u', 'r2', 'x')).toBe(FIRST_BACKOFF_MS);
  });

  test('a healthy start forgets the failures', () => {
    const { backoff } = clocked();
    backoff.fail('u', 'r1', 'x');
    backoff.succeeded('u');
    expect(backoff.has('u')).toBe(false);
    expect(backoff.fail('u', 'r1', 'x')).toBe(FIRST_BACKOFF_MS);
  });
});
