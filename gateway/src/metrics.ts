/**
 * The gateway's Prometheus metrics (prom-client). Every gateway gets its own Registry, so tests can
 * run several in one process. The hot path only bumps counters and histograms; the gauges (agents
 * by state, queue length) are computed when scraped, from what the gateway already holds in memory:
 * no scrape and no request costs a Docker call.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Proxy latency: from a fast /health to an agent thinking for minutes before its headers. */
const PROXY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Agent starts: a warm restart takes under a second, a cold image several. */
const SPAWN_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120];

export type AgentStateCounts = Record<string, number>;

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  let stateCounts: () => AgentStateCounts = () => ({});

  const metrics = {
    registry,
    requests: new Counter({
      name: 'nanobot_gateway_requests_total',
      help: 'HTTP requests answered, by route pattern and status class (2xx, 4xx, ...).',
      labelNames: ['route', 'status_class'] as const,
      registers,
    }),
    proxySeconds: new Histogram({
      name: 'nanobot_gateway_proxy_seconds',
      help: 'Time from handing a request to its agent until the agent’s response headers, by route pattern.',
      labelNames: ['route'] as const,
      buckets: PROXY_BUCKETS,
      registers,
    }),
    spawnSeconds: new Histogram({
      name: 'nanobot_gateway_spawn_seconds',
      help: 'Time from the first start state (queued, creating, starting) until the agent answered /health.',
      buckets: SPAWN_BUCKETS,
      registers,
    }),
    spawnFailures: new Counter({
      name: 'nanobot_gateway_spawn_failures_total',
      help: 'Agent starts that ended in the failed state, by reason (image_missing, engine_unreachable, ...).',
      labelNames: ['reason'] as const,
      registers,
    }),
    culls: new Counter({
      name: 'nanobot_gateway_culls_total',
      help: 'Idle agents stopped (action="stop") and stopped agents’ containers removed (action="remove") by the culler.',
      labelNames: ['action'] as const,
      registers,
    }),
    hungRestarts: new Counter({
      name: 'nanobot_gateway_hung_restarts_total',
      help: 'Agents stopped because their /health went unanswered for HUNG_AGENT_RESTART_AFTER; their next request starts them again.',
      registers,
    }),
    eventsReconnects: new Counter({
      name: 'nanobot_gateway_events_reconnects_total',
      help: 'Times the Docker events stream broke and was followed again (after a fresh adoption scan).',
      registers,
    }),
    agentErrors: new Counter({
      name: 'nanobot_gateway_agent_errors_total',
      help: 'Error answers (status >= 400) of agents that the gateway passed on, by the agent’s error code (llm_failed, llm_timeout, no_provider, ...).',
      labelNames: ['code'] as const,
      registers,
    }),
    /** Where the agents-by-state and queue gauges read from; set once by the gateway that owns the lifecycle. */
    countStatesWith(source: () => AgentStateCounts): void {
      stateCounts = source;
    },
  };

  new Gauge({
    name: 'nanobot_gateway_agents',
    help: 'Agents this gateway knows in memory, by state (running, queued, creating, starting, waiting_for_health, stopping, failed); stopped agents are not counted.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      this.reset();
      for (const [state, count] of Object.entries(stateCounts())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'nanobot_gateway_spawn_queue_length',
    help: 'Agent starts waiting for a place under MAX_CONCURRENT_SPAWNS.',
    registers,
    collect() {
      this.set(stateCounts().queued ?? 0);
    },
  });

  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `2xx`, `4xx`, ...: the status class keeps the label set small. */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

/** An agent's error code as a label: only the short snake_case codes agents send, anything else is `other`. */
export const errorCodeLabel = (code: unknown): string =>
  typeof code === 'string' && /^[a-z][a-z0-9_]{0,39}$/.test(code) ? code : 'other';
