/** Streams the request to the caller's agent and its answer back, neither buffered. */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { cleanDownstreamHeaders, upstreamHeaders } from '../headers.ts';
import { agentToken } from '../identity.ts';
import type { RouteTable } from '../agents/route-table.ts';
import type { RunningAgent } from '../runtime/types.ts';
import { splitUrl } from '../target.ts';
import { countBytes, tooLarge } from './body-limit.ts';

export type ProxyOptions = {
  routes: RouteTable;
  agentTokenSecret: string;
  maxBodyBytes: number;
  /** Bounds the wait for the agent's response headers, not the body: SSE chats may stream for minutes. */
  upstreamTimeoutMs: number;
  fetch?: typeof fetch;
};

const clientIp = (c: Context<Env>): string | undefined => c.env?.requestIP?.(c.req.raw)?.address;

/**
 * Bun's fetch streams a request's own body with backpressure but reads any JS-made stream eagerly.
 * A declared Content-Length was checked by bodyLimit and HTTP framing holds the body to it, so that
 * body goes through untouched, in constant memory; only a chunked body needs counting, which bounds
 * what it can pile up to maxBodyBytes.
 */
function outgoingBody(req: Request, maxBodyBytes: number, onExceeded: () => void): ReadableStream<Uint8Array> | null {
  if (!req.body) return null;
  if (req.headers.has('content-length')) return req.body;
  return countBytes(req.body, maxBodyBytes, onExceeded);
}

export const proxyToAgent = ({ routes, agentTokenSecret, maxBodyBytes, upstreamTimeoutMs, fetch: fetchImpl = fetch }: ProxyOptions) => {
  /**
   * Each route's agent token, kept with the route entry itself: an HMAC per request was a visible
   * cost, and the entry (so its token) is dropped when the route table forgets the agent.
   */
  const tokens = new WeakMap<RunningAgent, string>();
  const tokenOf = (agent: RunningAgent, containerName: string): string => {
    let token = tokens.get(agent);
    if (token === undefined) {
      token = agentToken(agentTokenSecret, containerName);
      tokens.set(agent, token);
    }
    return token;
  };

  return createMiddleware<Env>(async function proxyToAgent(c) {
    const agent = c.get('agent');
    const identity = c.get('identity');
    const requestId = c.get('requestId');
    const req = c.req.raw;
    const url = splitUrl(req.url);
    const upstream = new AbortController();
    const abortUpstream = () => upstream.abort();
    req.signal.addEventListener('abort', abortUpstream, { once: true });
    let timedOut = false;
    let bodyTooLarge = false;
    const timer = setTimeout(() => {
      timedOut = true;
      upstream.abort();
    }, upstreamTimeoutMs);

    const body = outgoingBody(req, maxBodyBytes, () => (bodyTooLarge = true));
    try {
      // Plain fetch: hono/proxy copied the request, its headers and the answer once more each.
      const res = await fetchImpl(`${agent.url}${url.target}`, {
        method: req.method,
        headers: upstreamHeaders(req.headers, {
          agentToken: tokenOf(agent, identity.containerName),
          userId: identity.id,
          requestId,
          clientIp: clientIp(c),
          url,
        }),
        body,
        duplex: 'half',
        signal: upstream.signal,
      } as RequestInit);
      // Bun's fetch answer has headers of its own to change, so it goes back as it is.
      cleanDownstreamHeaders(res.headers);
      res.headers.set('x-request-id', requestId);
      return res;
    } catch (err) {
      if (bodyTooLarge) throw tooLarge(maxBodyBytes);
      if (timedOut) throw new GatewayError(504, 'upstream_timeout', `The agent did not answer within ${upstreamTimeoutMs} ms.`);
      // Nobody is left to read an answer; 499 only shows in the log.
      if (req.signal.aborted) return new Response(null, { status: 499 });
      // The agent went away without an event reaching us yet: forget it so the next request restarts it.
      routes.delete(agent.userId, agent.instanceId);
      throw new GatewayError(502, 'agent_unreachable', `The agent could not be reached (${err instanceof Error ? err.name : 'error'}).`);
    } finally {
      clearTimeout(timer);
    }
  });
};
