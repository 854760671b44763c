/**
 * deploy/swarm/stack.yml, checked without a swarm (`docker stack config` does not exist on Engine
 * 20.10): the gateway on a manager with the engine's socket, the web app replicated, every secret
 * a Docker secret read through a `*_FILE` setting the code knows, and the agents' network attachable.
 */
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { SECRET_SETTINGS as GATEWAY_SECRETS } from '../gateway/src/secret-files.ts';
import { SECRET_SETTINGS as WEB_SECRETS } from '../web/lib/secret-files.ts';

type Service = {
  image: string;
  environment: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  networks: string[];
  deploy: { replicas: number; placement?: { constraints: string[] } };
};
type Stack = {
  services: Record<string, Service>;
  networks: Record<string, { name?: string; driver: string; attachable?: boolean }>;
  secrets: Record<string, { external: boolean }>;
};

const stack = Bun.YAML.parse(await Bun.file(join(import.meta.dir, '..', 'deploy', 'swarm', 'stack.yml')).text()) as Stack;
const { gateway, web } = stack.services as { gateway: Service; web: Service };

describe('the Swarm stack file', () => {
  test('runs one gateway on a manager, with the engine socket and the swarm runtime', () => {
    expect(gateway.deploy.replicas).toBe(1);
    expect(gateway.deploy.placement?.constraints).toContain('node.role == manager');
    expect(gateway.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    expect(gateway.environment.RUNTIME).toBe('swarm');
    expect(gateway.environment.AGENT_PLACEMENT).toBe('node');
  });

  test('puts the agents on an attachable overlay network the gateway is on and names as NETWORK_NAME', () => {
    const [key, agents] = Object.entries(stack.networks).find(([, n]) => n.name === gateway.environment.NETWORK_NAME)!;
    expect(agents).toMatchObject({ driver: 'overlay', attachable: true });
    expect(gateway.networks).toContain(key);
    expect(web.networks).not.toContain(key);
  });

  test('replicates the web app', () => {
    expect(web.deploy.replicas).toBeGreaterThan(1);
  });

  test('hands every secret over as a Docker secret file the service mounts, never in the environment', () => {
    for (const [service, known] of [[gateway, GATEWAY_SECRETS], [web, WEB_SECRETS]] as const) {
      for (const name of known) expect(service.environment[name]).toBeUndefined();
      const files = Object.entries(service.environment).filter(([key]) => key.endsWith('_FILE'));
      expect(files.length).toBeGreaterThan(1);
      for (const [key, path] of files) {
        expect(known as readonly string[]).toContain(key.slice(0, -'_FILE'.length));
        const secret = path.replace(/^\/run\/secrets\//, '');
        expect(service.secrets).toContain(secret);
        expect(stack.secrets[secret]).toEqual({ external: true });
      }
    }
  });
});
