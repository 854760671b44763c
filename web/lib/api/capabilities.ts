import { callGateway, type Gateway } from '../gateway.ts';
import type { User } from '../auth/user.ts';
import type { ApiHandler } from './handler.ts';
import type { Capabilities } from './shared.ts';

/*
 * The optional endpoints are probed without side effects, so the UI shows only controls that work.
 * The real nanobot image answers them with 404 or 405.
 */

/** A route the agent has: anything but 405, a code-less 404 (an unknown route) or a server failure. */
async function known(response: Response): Promise<boolean> {
  const body: unknown = await response.json().catch(() => undefined);
  const coded = Boolean(body && typeof body === 'object' && 'code' in body);
  return response.status !== 405 && !(response.status === 404 && !coded) && response.status < 500;
}

/**
 * Whether a download answers, from its headers alone: the request is aborted once they arrive, so
 * the body (an export can be large) is never read. Cancelling the body instead can hang under
 * Next's patched fetch.
 */
async function answersOk(fetchHeaders: (signal: AbortSignal) => Promise<Response>): Promise<boolean> {
  const controller = new AbortController();
  const response = await fetchHeaders(controller.signal);
  controller.abort();
  return response.ok;
}

const PROBE = '.capability-probe';

async function probe(gateway: Gateway, user: User): Promise<Capabilities> {
  const call = (path: string, method = 'GET', body?: string, signal?: AbortSignal) =>
    callGateway(gateway, user, path, { method, body, signal, headers: body ? { 'Content-Type': 'application/json' } : {} });
  const listing = (await (await call('/files')).json().catch(() => ({}))) as { files?: string[] };
  const sample = listing.files?.find((f) => f === 'memory/MEMORY.md') ?? listing.files?.[0];
  const [downloads, manageFiles, renameSessions, exportZip] = await Promise.all([
    // Nothing listed means nothing to link to yet; the next page load asks again.
    sample ? answersOk((signal) => call(`/files/${sample.split('/').map(encodeURIComponent).join('/')}`, 'GET', undefined, signal)) : Promise.resolve(true),
    // A missing file in the workspace root: "not found" or "forbidden" from an agent that can delete, never a deletion.
    call(`/files/${PROBE}`, 'DELETE').then(known),
    // An empty title is refused by an agent that can rename; no session id means nothing to rename.
    call('/sessions', 'PATCH', JSON.stringify({ title: '' })).then(known),
    answersOk((signal) => call('/export', 'GET', undefined, signal)),
  ]);
  // `images` and `replace_last_turn` on /chat came in the same contract version as renaming sessions,
  // and cannot be probed without sending a message.
  return { downloads, manageFiles, renameSessions, chatOptions: renameSessions, export: exportZip };
}

export const handleCapabilities: ApiHandler = async (_request, user, gateway) =>
  Response.json(await probe(gateway, user), { headers: { 'Cache-Control': 'no-store' } });
