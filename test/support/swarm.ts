/**
 * A single-node swarm for tests that need one: the engine is made a swarm manager only if it is
 * not in a swarm, and `leave()` undoes exactly that (the swarm, and docker_gwbridge if the swarm
 * made it), so an engine that was already a swarm is left as it was. Call `leave()` in a `finally`
 * of the test's afterAll, so it runs even when a test or the cleanup before it fails.
 */
import Docker from 'dockerode';

export type JoinedSwarm = {
  /** Whether this call made the engine a swarm (and so `leave()` will leave it). */
  initialised: boolean;
  /** The swarm node id of this engine. */
  nodeId: string;
  leave: () => Promise<void>;
};

type SwarmInfo = { Swarm: { LocalNodeState: string; NodeID: string } };

export async function joinSwarm(docker = new Docker()): Promise<JoinedSwarm> {
  const before = (await docker.info()) as SwarmInfo;
  if (before.Swarm.LocalNodeState === 'active') return { initialised: false, nodeId: before.Swarm.NodeID, leave: async () => {} };
  const gwbridgeBefore = (await docker.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((n) => n.Name === 'docker_gwbridge');
  // Loopback only: no other machine can join this test swarm.
  await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
  const leave = async () => {
    await docker.swarmLeave({ force: true });
    if (!gwbridgeBefore) await docker.getNetwork('docker_gwbridge').remove().catch(() => {});
  };
  try {
    const after = (await docker.info()) as SwarmInfo;
    return { initialised: true, nodeId: after.Swarm.NodeID, leave };
  } catch (err) {
    await leave();
    throw err;
  }
}
