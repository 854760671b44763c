/**
 * The labels the gateway puts on every agent container, and the filters that find them again.
 * Scripts, benchmarks and tests import these instead of spelling the strings out.
 */
export const LABELS = {
  managed: 'nanobot.managed',
  userId: 'nanobot.user-id',
  email: 'nanobot.email',
  instance: 'nanobot.instance',
  /** A hash of the agent's token, so a scan can tell agents made under another AGENT_TOKEN_SECRET. */
  tokenFingerprint: 'nanobot.token-fingerprint',
  /** `relay` on agents whose config.json is the gateway's keyless copy; older agents hold the admin's file and are replaced. */
  config: 'nanobot.config',
  /** A hash of the settings the agent was made with (limits, command, network): another one means it is outdated. */
  spec: 'nanobot.spec',
  /** On Swarm services: the id of the image AGENT_IMAGE named when the service was made or last updated. */
  imageId: 'nanobot.image-id',
} as const;

/** `key=value` label filters that select the agents of one gateway instance (GATEWAY_INSTANCE). */
export const instanceLabelFilters = (instance: string): string[] => [`${LABELS.managed}=true`, `${LABELS.instance}=${instance}`];

/** The same filters as `docker ps` / `docker events` arguments. */
export const instanceFilterArgs = (instance: string): string[] =>
  instanceLabelFilters(instance).flatMap((label) => ['--filter', `label=${label}`]);
