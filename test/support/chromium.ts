/** Debian's Chromium for the browser tests, and the accessibility audit they run in it. */
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const AXE = join(import.meta.dir, '..', '..', 'node_modules', 'axe-core', 'axe.min.js');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** axe-core's serious and critical findings on the page as it is now (its source injected, no CDN). */
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

/** A 240×160 PNG of a handwritten-looking exercise, drawn by the browser itself. */
export async function exercisePng(page: Page, text = '∫ x² dx = ?'): Promise<Buffer> {
  const url = await page.evaluate((label) => {
    const canvas = document.createElement('canvas');
    canvas.width = 240;
    canvas.height = 160;
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#fffbe6';
    g.fillRect(0, 0, 240, 160);
    g.fillStyle = '#1f2937';
    g.font = '32px serif';
    g.fillText(label, 24, 90);
    return canvas.toDataURL('image/png');
  }, text);
  return Buffer.from(url.split(',')[1]!, 'base64');
}

/** A one-page PDF, small enough to write out. */
export const ONE_PAGE_PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);
