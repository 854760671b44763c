/**
 * deploy/swarm/stack.yml, checked without a swarm (`docker stack config` does not exist on Engine
 * 20.10): the gateway on a manager with the engine's socket, the web app on every node, nothing
 * behind a virtual IP or the routing mesh, every secret a Docker secret read through a `*_FILE`
 * setting the code knows, and the agents' network attachable. test/swarm-deploy.stack.test.ts
 * deploys it for real.
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
  ports?: Array<{ target: number; published: string; protocol: string; mode: string }>;
  healthcheck?: { test: string[] };
  deploy: { mode?: string; replicas?: number; endpoint_mode?: string; placement?: { constraints: string[] } };
};
type Stack = {
  services: Record<string, Service>;
  networks: Record<string, { name?: string; driver: string; attachable?: boolean }>;
  secrets: Record<string, { external: boolean; name: string }>;
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
    const [key, agents] = Object.entries(stack.networks).find(([, n]) => n.name !== undefined && n.name === gateway.environment.NETWORK_NAME)!;
    expect(agents).toMatchObject({ driver: 'overlay', attachable: true });
    expect(gateway.networks).toContain(key);
    expect(web.networks).not.toContain(key);
  });

  test('runs the web app on every node, published on the node itself rather than through the routing mesh', () => {
    expect(web.deploy.mode).toBe('global');
    expect(web.ports).toEqual([{ target: 3000, published: '${WEB_PORT:-3000}', protocol: 'tcp', mode: 'host' }]);
  });

  test('puts no service behind a virtual IP (IPVS) and gives each a health check', () => {
    for (const service of [gateway, web]) {
      expect(service.deploy.endpoint_mode).toBe('dnsrr');
      expect(service.healthcheck?.test[0]).toBe('CMD');
    }
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
        expect(stack.secrets[secret]).toEqual({ external: true, name: `\${SECRET_PREFIX:-}${secret}` });
      }
    }
  });
});
