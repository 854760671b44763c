/** A small parser of the Prometheus text format, so tests read samples as a scraper would. */
export type Sample = { name: string; labels: Record<string, string>; value: number };

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample line; throws on a line that is neither a sample, a comment nor blank. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const [, name = '', rawLabels = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', inner = ''] of rawLabels.matchAll(LABEL)) labels[key] = inner.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const number = value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value);
    if (Number.isNaN(number) && value !== 'NaN') throw new Error(`not a number: ${line}`);
    samples.push({ name, labels, value: number });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; undefined when none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
