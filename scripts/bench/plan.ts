/**
 * The phases of `bun run bench` in run order, and `--only a,b` to run some of them alone: a
 * developer working on the hot path runs `bun run bench --only floor` in about a minute.
 */
export const PHASE_TITLES = {
  hotpath: 'hot path (GET /health, sequential and 16 in flight)',
  floor: 'the hot path against the floor (bare Bun pass-through, nginx)',
  streaming: 'streaming (SSE time to first byte)',
  relay: 'LLM relay (time to first chunk)',
  memory: 'memory while uploads stream through',
  cold: 'cold starts',
  concurrency: 'concurrency (20 new users at once)',
  culled: 'culled agent, with and without start-on-sign-in',
} as const;

export type PhaseName = keyof typeof PHASE_TITLES;

export const PHASES = Object.keys(PHASE_TITLES) as PhaseName[];

/** The phases that measure against the one agent started first (the "hot" user's). */
export const HOT_USER_PHASES: readonly PhaseName[] = ['hotpath', 'floor', 'streaming', 'relay', 'memory'];

/** Every phase, or those `--only` names (comma-separated), always in run order. */
export function selectedPhases(only: string | undefined): PhaseName[] {
  if (only === undefined) return PHASES;
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !PHASES.includes(name as PhaseName));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--only takes phases out of ${PHASES.join(', ')} (got ${unknown.join(', ') || 'nothing'})`);
  return PHASES.filter((name) => names.includes(name));
}
