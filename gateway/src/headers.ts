/** Which headers of the caller's request reach the agent, and of the agent's answer reach the caller. */

/** Meaningful for one connection only (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Set only by the gateway: the caller's credentials and any identity claim it tried to make. Bun's
 * fetch asks for a compression it undoes itself, so the caller's Accept-Encoding is not passed on.
 */
const GATEWAY_OWNED = ['authorization', 'host', 'x-user-assertion', 'x-user-email', 'x-user-id', 'x-request-id', 'accept-encoding'];

const NOT_FORWARDED = [...HOP_BY_HOP, ...GATEWAY_OWNED];

/** A header name (RFC 9110 token); anything else in Connection names no header. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z|~]+$/;

/** Headers the Connection header names are hop-by-hop too; most messages name none. */
function dropConnectionListed(headers: Headers): void {
  const listed = headers.get('connection');
  if (!listed) return;
  for (const name of listed.split(',')) {
    const trimmed = name.trim();
    if (TOKEN.test(trimmed)) headers.delete(trimmed);
  }
}

export type ForwardInfo = {
  agentToken: string;
  userId: string;
  requestId: string;
  /** The caller's address, when the server knows it. */
  clientIp: string | undefined;
  /** The URL the caller used (only its host and protocol are read). */
  url: Pick<URL, 'host' | 'protocol'>;
};

export function upstreamHeaders(incoming: Headers, info: ForwardInfo): Headers {
  // One native copy and a few deletes: cheaper than building the set entry by entry.
  const out = new Headers(incoming);
  dropConnectionListed(out);
  for (const name of NOT_FORWARDED) out.delete(name);
  out.set('authorization', `Bearer ${info.agentToken}`);
  out.set('x-user-id', info.userId);
  out.set('x-request-id', info.requestId);
  const priorFor = incoming.get('x-forwarded-for');
  if (info.clientIp) out.set('x-forwarded-for', priorFor ? `${priorFor}, ${info.clientIp}` : info.clientIp);
  out.set('x-forwarded-host', incoming.get('x-forwarded-host') ?? incoming.get('host') ?? info.url.host);
  out.set('x-forwarded-proto', incoming.get('x-forwarded-proto') ?? info.url.protocol.replace(/:$/, ''));
  return out;
}

/**
 * Cleans the agent's answer in place, so it goes back to the caller without being copied: drops
 * hop-by-hop headers, and the encoding Bun's fetch has already undone (with the length it had).
 */
export function cleanDownstreamHeaders(headers: Headers): void {
  dropConnectionListed(headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  if (headers.has('content-encoding')) {
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
}
