/** What the browser tests of sign-in share: tutors that only say whose they are, and the login form filled in. */
import type { Page } from 'playwright-core';

/** Stands in for the tutors behind the gateway: each answers with the user id the gateway sent it. */
export const echoAgents = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  const path = new URL(request.url).pathname;
  if (path === '/health') return Response.json({ status: 'ok' });
  if (path === '/sessions') return Response.json({ sessions: [] });
  if (path === '/files') return Response.json({ files: [] });
  if (path === '/memory') return Response.json({ memory: `# Memory of ${request.headers.get('x-user-id')}`, history: '' });
  return Response.json({ error: 'not here', code: 'not_found' }, { status: 404 });
}) as typeof fetch;

/**
 * Opens the web app's login page and submits the email and password (whether it signs in is the caller's to check).
 * A page that was signed out may still be on its own way to /login (the app redirects when it sees the 401);
 * that navigation aborts the test's goto ("interrupted by another navigation"), so the goto is tried again.
 */
export async function signIn(page: Page, webUrl: string, email: string, password: string): Promise<void> {
  await openLogin(page, `${webUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function openLogin(page: Page, url: string, attempts = 3): Promise<void> {
  try {
    await page.goto(url);
  } catch (error) {
    const interrupted = /interrupted by another navigation|ERR_ABORTED/.test(String(error));
    if (!interrupted || attempts <= 1) throw error;
    await page.waitForLoadState('load').catch(() => undefined);
    await openLogin(page, url, attempts - 1);
  }
}
