/**
 * The soak counts an answer as expected only when the web client handles it gracefully; these pin
 * what that means for the gateway's answers the soak meets (scripts/bench/web-client.ts).
 */
import { describe, expect, test } from 'bun:test';
import { ApiError } from '../../web/lib/client/api.ts';
import { asBrowserSees, whileStarting } from '../bench/web-client.ts';

const gatewayError = (status: number, code: string, headers: Record<string, string> = {}) =>
  Response.json({ error: 'operator wording', code }, { status, headers });

async function seen(res: Response): Promise<ApiError> {
  try {
    await asBrowserSees(res);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe('what the browser makes of a gateway answer', () => {
  test('a success passes through untouched', async () => {
    const res = Response.json({ sessions: [] });
    expect(await asBrowserSees(res)).toBe(res);
  });

  test('a start that timed out, a full spawn queue and a rate limit are `starting`, with the wait', async () => {
    expect((await seen(gatewayError(504, 'agent_start_timeout'))).code).toBe('starting');
    const queue = await seen(gatewayError(429, 'spawn_queue_full', { 'Retry-After': '7' }));
    expect([queue.code, queue.retryAfter]).toEqual(['starting', 7]);
    expect((await seen(gatewayError(429, 'rate_limited', { 'Retry-After': '1' }))).code).toBe('starting');
  });

  test('an agent that cannot start, an unresponsive one and a lost one are errors the student sees', async () => {
    expect((await seen(gatewayError(503, 'agent_exited', { 'Retry-After': '30' }))).code).toBe('cannot_start');
    expect((await seen(gatewayError(504, 'agent_unresponsive'))).code).toBe('unavailable');
    expect((await seen(gatewayError(504, 'upstream_timeout'))).code).toBe('failed');
    expect((await seen(gatewayError(502, 'agent_unreachable'))).code).toBe('unavailable');
  });

  test('the message names the gateway status and code for the report', async () => {
    expect((await seen(gatewayError(504, 'agent_start_timeout'))).message).toStartWith('504 agent_start_timeout, shown as starting');
  });
});

describe('the browser waits out `starting` and nothing else', () => {
  test('it retries after Retry-After until the answer comes', async () => {
    let tries = 0;
    let waited = 0;
    const answer = await whileStarting(
      async () => {
        tries += 1;
        if (tries < 2) await asBrowserSees(gatewayError(429, 'spawn_queue_full', { 'Retry-After': '0' }));
        return 'sessions';
      },
      { onStarting: () => (waited += 1) },
    );
    expect([answer, tries, waited]).toEqual(['sessions', 2, 1]);
  });

  test('past its patience a `starting` answer is thrown, as the page would show it', async () => {
    const attempt = () => asBrowserSees(gatewayError(504, 'agent_start_timeout'));
    await expect(whileStarting(attempt, { patienceMs: 0 })).rejects.toBeInstanceOf(ApiError);
  });

  test('an error that is not `starting` is thrown at once', async () => {
    let tries = 0;
    const attempt = async () => {
      tries += 1;
      return asBrowserSees(gatewayError(504, 'agent_unresponsive'));
    };
    await expect(whileStarting(attempt)).rejects.toBeInstanceOf(ApiError);
    expect(tries).toBe(1);
  });
});
