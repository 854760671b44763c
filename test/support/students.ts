/** Students of a stack brought up by `test/stack.ts`: created with `bun run students`, signed in through their invite. */
import type { Page } from 'playwright-core';
import { capture } from '../../scripts/lib/run.ts';
import type { Stack } from '../stack.ts';

/** The invite path of each new student in the output of `bun run students add`. */
export function invitePaths(stdout: string): Map<string, string> {
  const invites = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [email, link] = line.trim().split(/\s+/);
    if (email && link?.includes('/invite/')) invites.set(email, new URL(link).pathname);
  }
  return invites;
}

/** `bun run students add` in the stack's folder: the invite path of each new student. */
export async function addStudents(stack: Stack, emails: readonly string[]): Promise<Map<string, string>> {
  const out = await capture(['bun', 'scripts/students.ts', 'add', ...emails], { cwd: stack.dir });
  if (out.code !== 0) throw new Error(`bun run students add failed: ${out.stderr}`);
  return invitePaths(out.stdout);
}

/** Follows the invite link, chooses a password, and is signed in. */
export async function acceptInvite(page: Page, stack: Pick<Stack, 'webUrl'>, invitePath: string, password: string): Promise<void> {
  await page.goto(`${stack.webUrl}${invitePath}`);
  await page.getByLabel('New password').fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/', { timeout: 60_000 });
}
