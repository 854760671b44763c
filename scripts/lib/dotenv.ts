/** Reads and extends a `.env` file without ever changing a value that is already there. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function readDotenv(path: string): Map<string, string> {
  const values = new Map<string, string>();
  if (!existsSync(path)) return values;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) values.set(match[1], match[2]!.replace(/^(['"])(.*)\1$/, '$2'));
  }
  return values;
}

/** Appends the keys of `wanted` that the file lacks; returns the names it added. */
export function addMissing(path: string, wanted: Record<string, string>): string[] {
  const present = readDotenv(path);
  const added = Object.keys(wanted).filter((key) => !present.has(key));
  if (added.length === 0) return added;
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  const lines = added.map((key) => `${key}=${wanted[key]}`).join('\n');
  writeFileSync(path, `${existing}${separator}${lines}\n`, { mode: 0o600 });
  return added;
}
