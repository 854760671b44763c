/** What the bench reads from /proc: a process's CPU, and the same CPU thread by thread. */
import { expect, test } from 'bun:test';
import { cpuSecondsOf, threadCpuSecondsOf } from '../../test/support/proc.ts';

test("a process's threads add up to its CPU, and the JavaScript thread is named bun", async () => {
  // Busy on its JavaScript thread for about half a second, reads files at once (which starts Bun's
  // numbered pool threads), then waits to be read and killed.
  const script = 'const end = Date.now() + 500; while (Date.now() < end); await Promise.all(Array.from({ length: 8 }, () => Bun.file("/etc/hostname").text())); console.log("done"); setInterval(() => {}, 1000);';
  const child = Bun.spawn(['bun', '-e', script], { stdout: 'pipe' });
  try {
    await child.stdout.getReader().read();
    const threads = threadCpuSecondsOf(child.pid);
    const total = cpuSecondsOf(child.pid);
    expect(threads.get('bun') ?? 0).toBeGreaterThan(0.3);
    const sum = [...threads.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - total)).toBeLessThan(0.05);
    // Numbered thread names (`Bun Pool 0`, `Bun Pool 1`) are summed under one.
    expect(threads.has('Bun Pool')).toBe(true);
    expect([...threads.keys()].some((name) => / \d+$/.test(name))).toBe(false);
  } finally {
    child.kill();
  }
});
