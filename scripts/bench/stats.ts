/** Small statistics and formatting helpers for the benchmark report. */

/** The q-quantile (0..1) of the samples, nearest-rank, so it is always a measured value. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);

export const MiB = 1024 * 1024;

export const ms = (value: number): string => (Number.isNaN(value) ? 'n/a' : value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`);

export const ratio = (value: number, baseline: number): string =>
  Number.isFinite(value / baseline) ? `${(value / baseline).toFixed(2)}×` : 'n/a';

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
