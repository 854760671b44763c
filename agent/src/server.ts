/** Builds the agent from its home folder and serves it over HTTP. */
import { createApp } from './app.ts';
import type { Calculator } from './calculator.ts';
import { loadConfig } from './config.ts';
import { createProvider } from './llm/index.ts';
import { Tutor } from './tutor.ts';
import { quotaFromEnv, Uploads } from './uploads.ts';
import { layoutOf, seedWorkspace } from './workspace.ts';

export type AgentServerOptions = {
  /** nanobot's home folder, `/root/.nanobot` in the image. */
  home: string;
  port: number;
  hostname?: string;
  token?: string | undefined;
  /** See TutorOptions. */
  calculator?: Calculator;
};

export type AgentServer = {
  url: string;
  port: number;
  /** Closes at once, cutting off requests in flight. */
  stop: () => Promise<void>;
  /**
   * Stops taking new connections, lets the requests and answers in flight finish and be saved (also
   * those whose client went away), then closes; after `timeoutMs` whatever is left is cut off.
   */
  drain: (timeoutMs: number) => Promise<void>;
};

export async function startAgentServer({ home, port, hostname = '0.0.0.0', token, calculator }: AgentServerOptions): Promise<AgentServer> {
  const layout = layoutOf(home);
  const config = await loadConfig(layout.configFile);
  await seedWorkspace(layout);
  const provider = config.provider ? createProvider(config.provider, config.defaults) : undefined;
  if (config.provider) console.log(`provider ${config.provider.name}, model ${config.provider.model}`);
  else console.warn('no LLM provider configured: /chat answers 503 until config.json has one');
  // One quota for the student's uploads and the notes the model writes, checked in one queue.
  const uploads = new Uploads({ dir: layout.uploads, counted: [layout.uploads, layout.notes], quota: quotaFromEnv(process.env) });
  const tutor = new Tutor({ layout, config, provider, calculator, uploads });
  const app = createApp({ tutor, layout, token, uploads });
  // No idle timeout: a model may think for a long while before its first token.
  const server = Bun.serve({ port, hostname, idleTimeout: 0, fetch: app.fetch });
  const boundPort = server.port ?? port;
  return {
    url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${boundPort}`,
    port: boundPort,
    stop: () => server.stop(true),
    drain: async (timeoutMs) => {
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all([server.stop(false), tutor.idle()]), timeout]);
      clearTimeout(timer);
      await server.stop(true);
    },
  };
}
