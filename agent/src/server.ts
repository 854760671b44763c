/** Builds the agent from its home folder and serves it over HTTP. */
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createProvider } from './llm/index.ts';
import { Tutor } from './tutor.ts';
import { layoutOf, seedWorkspace } from './workspace.ts';

export type AgentServerOptions = {
  /** nanobot's home folder, `/root/.nanobot` in the image. */
  home: string;
  port: number;
  hostname?: string;
  token?: string | undefined;
};

export type AgentServer = { url: string; port: number; stop: () => Promise<void> };

export async function startAgentServer({ home, port, hostname = '0.0.0.0', token }: AgentServerOptions): Promise<AgentServer> {
  const layout = layoutOf(home);
  const config = await loadConfig(layout.configFile);
  await seedWorkspace(layout);
  const provider = config.provider ? createProvider(config.provider) : undefined;
  if (config.provider) console.log(`provider ${config.provider.name}, model ${config.provider.model}`);
  else console.warn('no LLM provider configured: /chat answers 503 until config.json has one');
  const app = createApp({ tutor: new Tutor({ layout, config, provider }), layout, token });
  // No idle timeout: a model may think for a long while before its first token.
  const server = Bun.serve({ port, hostname, idleTimeout: 0, fetch: app.fetch });
  const boundPort = server.port ?? port;
  return {
    url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${boundPort}`,
    port: boundPort,
    stop: () => server.stop(true),
  };
}
