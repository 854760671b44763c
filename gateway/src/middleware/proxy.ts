/** Streams the request to the caller's agent and its answer back, neither buffered. */
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { GatewayError } from '../errors.ts';
import { cleanDownstreamHeaders, upstreamHeaders } from '../headers.ts';
import { agentToken } from '../identity.ts';
import { agentPaused, PAUSED_EVENT } from '../agents/pauses.ts';
import type { RouteTable } from '../agents/route-table.ts';
import type { UnresponsiveAgents } from '../agents/unresponsive.ts';
import type { RunningAgent } from '../runtime/types.ts';
import { splitUrl } from '../target.ts';
import { tooLarge, watchBody } from './body-limit.ts';
import { endWithErrorEvent, isEventStream } from './event-stream.ts';

export type ProxyOptions = {
  routes: RouteTable;
  agentTokenSecret: string;
  maxBodyBytes: number;
  /**
   * Bound the wait for the agent's response headers, not the body (SSE chats may stream for minutes):
   * `slow` for the routes that wait for the LLM (`/chat`, `/conversations`), `quick` for the rest.
   */
  headerTimeoutMs: { slow: number; quick: number };
  /** A request body that stops arriving for this long is cut with 408. */
  bodyIdleMs: number;
  /** Agents that missed a deadline; the next request re-checks them first. */
  unresponsive: UnresponsiveAgents;
  fetch?: typeof fetch;
};

const clientIp = (c: Context<Env>): string | undefined => c.env?.requestIP?.(c.req.raw)?.address;

/** The routes whose answer waits for the LLM (memory consolidation too); every other one answers from disk. */
const isSlowRoute = (target: string): boolean => target.startsWith('/chat') || target.startsWith('/conversations');

/**
 * A declared body of at most this many bytes is read whole (natively) before it is sent on: piping it
 * through a stream of our own to see it arrive took a fifth of the gateway's CPU per small request in
 * the profile. It must arrive within BODY_IDLE_TIMEOUT in all, which any live client does (2 KiB/s).
 */
const BUFFERED_BODY_BYTES = 64 * 1024;

/**
 * Up to this many declared bytes the body is watched on its way (idle timer, end). A larger declared
 * body goes to fetch untouched: Bun streams a request's own body with backpressure but reads a JS-made
 * stream eagerly, so watching a 20 MiB upload would cost the gateway about that much memory.
 */
const WATCHED_BODY_BYTES = 1024 * 1024;

/**
 * A request still waiting for its agent this long after it came starts following its caller, and its
 * agent's work is cut if the caller has gone. Following from the start (Bun makes a request's
 * AbortSignal on first use) was a sixth of the chain's CPU for every short request; a caller gone
 * sooner costs its agent at most this much more work. An answer already streaming (SSE, a download)
 * is cut as soon as its caller disconnects either way: Bun cancels the agent's body then.
 */
const FOLLOW_CALLER_AFTER_MS = 1_000;

/** What the deadline of a request is for: the rest of the caller's body, or the agent's headers. */
type Waiting = 'body' | 'headers';

export const proxyToAgent = ({ routes, agentTokenSecret, maxBodyBytes, headerTimeoutMs, bodyIdleMs, unresponsive, fetch: fetchImpl = fetch }: ProxyOptions) => {
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
    const pauses = routes.pauses;
    if (pauses.has(agent.instanceId)) throw agentPaused();
    if (unresponsive.has(agent)) await unresponsive.recheck(agent);
    const identity = c.get('identity');
    const requestId = c.get('requestId');
    const req = c.req.raw;
    const url = splitUrl(req.url);
    const timeoutMs = isSlowRoute(url.target) ? headerTimeoutMs.slow : headerTimeoutMs.quick;
    const upstream = new AbortController();
    let bodyTooLarge = false;
    let settled = false;
    // One deadline at a time: while a watched or buffered body arrives it is the idle deadline (moved
    // on per chunk when watched); then (or at once, for no body or an unwatched one) the wait for the
    // agent's headers. One timer serves them all, and starts following the caller (below).
    const declared = req.headers.get('content-length');
    const buffered = req.body !== null && declared !== null && Number(declared) <= BUFFERED_BODY_BYTES;
    const watched = req.body !== null && !buffered && (declared === null || Number(declared) <= WATCHED_BODY_BYTES);
    let waitingFor: Waiting = watched || buffered ? 'body' : 'headers';
    let expired: Waiting | undefined;
    let stopReading: ((reason: unknown) => void) | undefined;
    const expire = () => {
      expired = waitingFor;
      stopReading?.(new Error('body timeout'));
      upstream.abort();
    };
    // An unwatched body is still arriving while the header deadline runs, so it gets the long one:
    // the quick one would cut a large upload on a slow connection before the agent has it all.
    const firstWaitMs = watched || buffered ? bodyIdleMs : req.body === null ? timeoutMs : Math.max(timeoutMs, headerTimeoutMs.slow);
    let deadline = performance.now() + firstWaitMs;
    let followingCaller = false;
    let timerAt = 0;
    let timer: Timer | undefined;
    const arm = (at: number) => {
      clearTimeout(timer);
      timerAt = at;
      timer = setTimeout(tick, Math.max(0, at - performance.now()));
    };
    function tick() {
      if (settled) return;
      // The first tick: from now on the caller's leaving cuts the agent's request, or at once if it has left.
      if (!followingCaller) {
        followingCaller = true;
        if (req.signal.aborted) {
          stopReading?.(new Error('caller gone'));
          return upstream.abort();
        }
        req.signal.addEventListener('abort', () => upstream.abort(), { once: true });
      }
      if (performance.now() >= deadline) expire();
      else arm(deadline);
    }
    arm(Math.min(deadline, performance.now() + FOLLOW_CALLER_AFTER_MS));
    // A frozen agent would hold this request until a deadline: its pause ends the wait at once.
    let paused = false;
    const stopListening = pauses.onPause(agent.instanceId, () => {
      paused = true;
      upstream.abort();
    });
    const waitForHeaders = () => {
      if (settled) return;
      waitingFor = 'headers';
      deadline = performance.now() + timeoutMs;
      if (deadline < timerAt) arm(deadline);
    };
    let body: BodyInit | null = req.body;
    if (watched) {
      body = watchBody(req.body!, {
        // A declared length is held to by HTTP framing; only a chunked body needs counting.
        maxBytes: declared === null ? maxBodyBytes : undefined,
        onExceeded: () => (bodyTooLarge = true),
        onChunk: () => {
          deadline = performance.now() + bodyIdleMs;
        },
        onEnd: waitForHeaders,
      });
    }
    try {
      if (buffered) {
        try {
          body = await new Promise<ArrayBuffer>((resolve, reject) => {
            stopReading = reject;
            req.arrayBuffer().then(resolve, reject);
          });
        } catch (err) {
          // Not our deadline: the caller went away before its body was in, and the agent was never asked.
          if (expired === undefined) return new Response(null, { status: 499 });
          throw err;
        }
        waitForHeaders();
      }
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
      if (res.body && isEventStream(res.headers)) {
        const lost = () => routes.delete(agent.userId, agent.instanceId);
        return new Response(endWithErrorEvent(res.body, lost, (end) => pauses.onPause(agent.instanceId, () => end(PAUSED_EVENT))), res);
      }
      return res;
    } catch (err) {
      if (bodyTooLarge) throw tooLarge(maxBodyBytes);
      if (paused) throw agentPaused();
      if (expired === 'body') throw new GatewayError(408, 'body_timeout', `The request body stopped arriving for ${bodyIdleMs} ms.`);
      if (expired === 'headers') {
        unresponsive.mark(agent);
        throw new GatewayError(504, 'upstream_timeout', `The agent did not answer within ${timeoutMs} ms.`);
      }
      // Nobody is left to read an answer; 499 only shows in the log.
      if (req.signal.aborted) return new Response(null, { status: 499 });
      // The agent went away without an event reaching us yet: forget it so the next request restarts it.
      routes.delete(agent.userId, agent.instanceId);
      throw new GatewayError(502, 'agent_unreachable', `The agent could not be reached (${err instanceof Error ? err.name : 'error'}).`);
    } finally {
      settled = true;
      clearTimeout(timer);
      stopListening();
    }
  });
};
