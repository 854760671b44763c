/** A search for a provider key inside an agent's container, run there with the image's own Bun. */

/**
 * A script for `bun -e` that prints, as a JSON array, every file the agent's user can read that holds
 * `key` (what it cannot read, a steered model cannot either), and `/proc/1/environ` when its
 * environment does.
 */
export const keySearchScript = (key: string): string => `
  const { readdirSync, readFileSync, statSync } = require('node:fs');
  const hits = [];
  const list = (dir) => { try { return readdirSync(dir); } catch { return []; } };
  const walk = (dir) => { for (const name of list(dir)) { const p = (dir === '/' ? '' : dir) + '/' + name; let s; try { s = statSync(p); } catch { continue; }
    if (s.isDirectory()) { if (!['/proc', '/sys', '/dev'].includes(p)) walk(p); } else if (s.isFile() && s.size < 50e6) { try { if (readFileSync(p).includes(${JSON.stringify(key)})) hits.push(p); } catch {} } } };
  walk('/');
  if (readFileSync('/proc/1/environ').includes(${JSON.stringify(key)})) hits.push('/proc/1/environ');
  console.log(JSON.stringify(hits));`;
