/** Durations in settings: `90s`, `30m`, `7d`; a plain number is milliseconds, as in the `*_MS` settings. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined for anything that is not a non-negative number with an optional unit. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!match) return undefined;
  const [, amount = '', unit = 'ms'] = match;
  const ms = Number(amount) * (UNIT_MS[unit.toLowerCase()] ?? 1);
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined;
}
