import { z } from 'zod';
import { callGateway } from '../gateway.ts';
import { fromGateway, jsonError } from './errors.ts';
import { relayJson, type ApiHandler } from './handler.ts';
import { inlineTypeOf } from './shared.ts';

/** A workspace-relative path with no way out of the workspace. */
function safePath(path: string | null): string | null {
  if (!path || path.length > 1024 || path.startsWith('/')) return null;
  const segments = path.split('/');
  return segments.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\')) ? path : null;
}

function disposition(kind: 'inline' | 'attachment', path: string): string {
  const name = path.split('/').pop() ?? 'download';
  return `${kind}; filename="${name.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const badPath = () => jsonError(400, { error: 'That file name is not valid.', code: 'bad_request' });
const agentPath = (path: string) => `/files/${path.split('/').map(encodeURIComponent).join('/')}`;

/**
 * `GET /api/files` lists the workspace; `GET /api/files?path=…` downloads one file, or with
 * `&inline=1` shows an image or PDF in the page.
 */
export const handleFiles: ApiHandler = async (request, user, gateway) => {
  const params = new URL(request.url).searchParams;
  const requested = params.get('path');
  if (requested === null) return relayJson(await callGateway(gateway, user, '/files'));
  const path = safePath(requested);
  if (!path) return badPath();
  const upstream = await callGateway(gateway, user, agentPath(path), { signal: request.signal });
  if (!upstream.ok) return fromGateway(upstream);
  const inlineType = params.get('inline') === '1' ? inlineTypeOf(path) : undefined;
  return new Response(upstream.body, {
    headers: {
      'Content-Type': inlineType ?? upstream.headers.get('content-type') ?? 'application/octet-stream',
      'Content-Disposition': disposition(inlineType ? 'inline' : 'attachment', path),
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
};

/** `DELETE /api/files?path=…`: the agent refuses anything outside files_uploaded/ and notes/. */
export const handleDeleteFile: ApiHandler = async (request, user, gateway) => {
  const path = safePath(new URL(request.url).searchParams.get('path'));
  if (!path) return badPath();
  return relayJson(await callGateway(gateway, user, agentPath(path), { method: 'DELETE' }));
};

const renameBody = z.object({ name: z.string().trim().min(1).max(255) });

/** `PATCH /api/files?path=…` with `{"name"}`: renames within the same folder; answers `{"path"}`. */
export const handleRenameFile: ApiHandler = async (request, user, gateway) => {
  const path = safePath(new URL(request.url).searchParams.get('path'));
  if (!path) return badPath();
  const body = renameBody.safeParse(await request.json().catch(() => null));
  if (!body.success || body.data.name.includes('/')) return jsonError(400, { error: 'Type a new file name (no slashes).', code: 'bad_request' });
  return relayJson(
    await callGateway(gateway, user, agentPath(path), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: body.data.name }),
    }),
  );
};
