import { callGateway } from '../gateway.ts';
import { fromGateway } from './errors.ts';
import type { ApiHandler } from './handler.ts';

/** Everything the tutor holds about the student (chats as Markdown, memory, files) as one zip. */
export const handleExport: ApiHandler = async (request, user, gateway) => {
  const upstream = await callGateway(gateway, user, '/export', { signal: request.signal });
  if (!upstream.ok) return fromGateway(upstream);
  return new Response(upstream.body, {
    headers: {
      'Content-Type': 'application/zip',
      'Content-Disposition': 'attachment; filename="tutor-export.zip"',
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
};
