/** axe-core's serious and critical findings on a page (its source injected from node_modules, no CDN), for the browser tests. */
import { join } from 'node:path';
import type { Page } from 'playwright-core';

const AXE = join(import.meta.dir, '..', '..', 'node_modules', 'axe-core', 'axe.min.js');

export async function accessibilityProblems(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const { violations } = await axe.run(document);
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
}
