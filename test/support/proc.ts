/** What the kernel says about a process: resident memory and CPU time, from /proc. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux this runs on, asked once anyway. */
const ticksPerSecond = Number(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()) || 100;

export function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) * 1024;
}

/** Restarts the kernel's peak-RSS counter (VmHWM) of a process. */
export function resetPeakMemory(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** User plus system CPU seconds of one `stat` line (of a process or of one of its threads). */
function cpuSecondsOfStat(stat: string): number {
  // The command name may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** User plus system CPU seconds a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  return cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * User plus system CPU seconds of each of a process's threads so far, by thread name; numbered
 * names (`Bun Pool 0`, `Bun Pool 1`) are summed under one. A thread that has ended is not counted.
 */
export function threadCpuSecondsOf(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended between the listing and the read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/ \d+$/, '');
    byName.set(name, (byName.get(name) ?? 0) + cpuSecondsOfStat(stat));
  }
  return byName;
}
