import { callGateway } from '../gateway.ts';
import { fromGateway, jsonError } from './errors.ts';
import { relayJson, type ApiHandler } from './handler.ts';

/** A workspace-relative path with no way out of the workspace. */
function safePath(path: string | null): string | null {
  if (!path || path.length > 1024 || path.startsWith('/')) return null;
  const segments = path.split('/');
  return segments.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\')) ? path : null;
}

function attachmentName(path: string): string {
  const name = path.split('/').pop() ?? 'download';
  return `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** `GET /api/files` lists the workspace; `GET /api/files?path=…` downloads one file. */
export const handleFiles: ApiHandler = async (request, user, gateway) => {
  const requested = new URL(request.url).searchParams.get('path');
  if (requested === null) return relayJson(await callGateway(gateway, user, '/files'));
  const path = safePath(requested);
  if (!path) return jsonError(400, { error: 'That file name is not valid.', code: 'bad_request' });
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  const upstream = await callGateway(gateway, user, `/files/${encoded}`, { signal: request.signal });
  if (!upstream.ok) return fromGateway(upstream);
  return new Response(upstream.body, {
    headers: {
      'Content-Type': upstream.headers.get('content-type') ?? 'application/octet-stream',
      'Content-Disposition': attachmentName(path),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
};
