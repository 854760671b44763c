/** Which headers of the caller's request reach the agent (hono/proxy cleans the answer's). */

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

/** Set only by the gateway: the caller's credentials and any identity claim it tried to make. */
const GATEWAY_OWNED = ['authorization', 'host', 'x-user-assertion', 'x-user-email', 'x-user-id', 'x-request-id'];

/** Headers the Connection header names are hop-by-hop too. */
function connectionListed(headers: Headers): string[] {
  return (headers.get('connection') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
}

function withoutHopByHop(headers: Headers): Headers {
  const out = new Headers(headers);
  for (const name of [...connectionListed(headers), ...HOP_BY_HOP]) out.delete(name);
  return out;
}

export type ForwardInfo = {
  agentToken: string;
  userId: string;
  requestId: string;
  /** The caller's address, when the server knows it. */
  clientIp: string | undefined;
  /** The URL the caller used. */
  url: URL;
};

export function upstreamHeaders(incoming: Headers, info: ForwardInfo): Headers {
  const out = withoutHopByHop(incoming);
  for (const name of GATEWAY_OWNED) out.delete(name);
  out.set('authorization', `Bearer ${info.agentToken}`);
  out.set('x-user-id', info.userId);
  out.set('x-request-id', info.requestId);
  const priorFor = incoming.get('x-forwarded-for');
  if (info.clientIp) out.set('x-forwarded-for', priorFor ? `${priorFor}, ${info.clientIp}` : info.clientIp);
  out.set('x-forwarded-host', incoming.get('x-forwarded-host') ?? incoming.get('host') ?? info.url.host);
  out.set('x-forwarded-proto', incoming.get('x-forwarded-proto') ?? info.url.protocol.replace(/:$/, ''));
  return out;
}
