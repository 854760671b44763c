/**
 * Where the relay listens and how agents address it. In compose the gateway is a container on the
 * agents' network: it listens on every address and agents call it by name. On the host (tests,
 * `bun gateway/src/index.ts`) it listens only on the network's gateway address, which containers
 * on that network reach and nothing outside the machine does.
 */
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import type { AgentSettings, RelaySettings } from '../settings.ts';
import { resolveAddressMode } from '../runtime/docker.ts';

export type RelayAddress = { hostname: string; url: string | undefined };

const statusOf = (err: unknown): number | undefined =>
  typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : undefined;

/** The network's gateway IP (created, as the runtime would, when it is missing). */
async function networkGatewayIp(docker: Docker, networkName: string): Promise<string> {
  let info: { IPAM?: { Config?: Array<{ Gateway?: string }> } };
  try {
    info = await docker.getNetwork(networkName).inspect();
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    await docker.createNetwork({ Name: networkName, Driver: 'bridge', CheckDuplicate: true }).catch((createErr: unknown) => {
      if (statusOf(createErr) !== 409) throw createErr;
    });
    info = await docker.getNetwork(networkName).inspect();
  }
  const ip = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
  if (!ip) throw new Error(`Network ${networkName} has no gateway address for the relay to listen on; set RELAY_HOST and RELAY_URL.`);
  return ip;
}

/** RELAY_HOST and RELAY_URL resolved; a url left undefined is made from the bound port. */
export async function resolveRelayAddress(docker: Docker, relay: RelaySettings, agents: AgentSettings): Promise<RelayAddress> {
  if (relay.host !== 'auto') {
    if (!relay.url && ['0.0.0.0', '::'].includes(relay.host)) throw new Error(`RELAY_HOST=${relay.host} says nothing about how agents reach the relay: set RELAY_URL too.`);
    return { hostname: relay.host, url: relay.url };
  }
  if ((await resolveAddressMode(docker, { ...agents, hostMode: 'auto' })) === 'name') {
    const self = await docker.getContainer(hostname()).inspect();
    return { hostname: '0.0.0.0', url: relay.url ?? `http://${self.Name.replace(/^\//, '')}:${relay.port}` };
  }
  return { hostname: await networkGatewayIp(docker, agents.networkName), url: relay.url };
}
