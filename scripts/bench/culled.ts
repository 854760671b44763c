/**
 * 6. A student whose agent was culled sends a first message: time to the first answer byte, with
 * start-on-sign-in (the web app's POST /agent/start when the page opens) and without it.
 */
import { identityFor } from '../../gateway/src/identity.ts';
import { instanceFilterArgs, LABELS } from '../../gateway/src/runtime/labels.ts';
import { eventually } from '../../test/support/eventually.ts';
import { docker, INSTANCE } from './docker.ts';
import { timeToFirstByte } from './load.ts';
import { emailOf, type Bench, type Result } from './phases.ts';
import { median, ms, ratio } from './stats.ts';

const ROUNDS = 4;
/** From sign-in to the first message: the page loading and the student typing. Start-on-sign-in has this long. */
const SIGN_IN_TO_MESSAGE_MS = 2_000;

const asStudent = (bench: Bench, email: string, path: string, init: RequestInit = {}, headers: Record<string, string> = {}) =>
  fetch(`${bench.gateway.url}${path}`, { ...init, headers: { Authorization: `Bearer ${bench.gatewayToken}`, 'X-User-Email': email, ...headers } });

/** Stops the agent as the culler does (SIGTERM, the agent drains and exits) and waits until the gateway has seen it go. */
async function cull(bench: Bench, email: string): Promise<void> {
  const id = (await docker(['ps', '-q', ...instanceFilterArgs(INSTANCE), '--filter', `label=${LABELS.userId}=${identityFor(email).id}`])).trim();
  await docker(['stop', '-t', '25', id]);
  await eventually(async () => {
    const { state } = (await (await asStudent(bench, email, '/agent')).json()) as { state: string };
    if (state !== 'stopped') throw new Error(`still ${state}`);
  }, 30_000, 50);
}

export async function culledStart(bench: Bench): Promise<Result> {
  const email = emailOf(bench, 'culled');
  const firstMessage = () =>
    asStudent(bench, email, '/chat', { method: 'POST', body: JSON.stringify({ message: 'hello again' }) }, {
      'Content-Type': 'application/json',
      Accept: 'text/event-stream',
      'x-test-mode': 'sse',
      'x-test-events': '1',
    });
  await (await firstMessage()).arrayBuffer();
  const withStart: number[] = [];
  const without: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const signInStarts of round % 2 === 0 ? [false, true] : [true, false]) {
      await cull(bench, email);
      if (signInStarts) await (await asStudent(bench, email, '/agent/start', { method: 'POST' })).arrayBuffer();
      await Bun.sleep(SIGN_IN_TO_MESSAGE_MS);
      (signInStarts ? withStart : without).push(await timeToFirstByte(firstMessage));
    }
    bench.log(`  culled round ${round + 1}/${ROUNDS}: with start-on-sign-in ${ms(withStart.at(-1)!)}, without ${ms(without.at(-1)!)}`);
  }
  return {
    rows: [
      {
        measure: `Culled agent: first message to first answer byte, with start-on-sign-in vs without (median of ${ROUNDS})`,
        value: ms(median(withStart)),
        baseline: ms(median(without)),
        ratio: ratio(median(withStart), median(without)),
      },
    ],
    notes: [
      `Culled agent: stopped as the culler does (\`docker stop\`, the agent drains and exits), then the student signs in and sends a first message ${SIGN_IN_TO_MESSAGE_MS / 1_000} s later; with start-on-sign-in the sign-in asks POST /agent/start. In run order, with: ${withStart.map(ms).join(', ')}; without: ${without.map(ms).join(', ')}.`,
    ],
  };
}
