/**
 * The fake OpenAI-compatible LLM (`agent/test/fake-llm.ts`) in a container on a network of its own,
 * for stacks whose tutors are containers: they reach it by its container name.
 */
import { join } from 'node:path';
import { prepareBuild, REPO_ROOT } from '../../scripts/lib/images.ts';
import { capture, run } from '../../scripts/lib/run.ts';

const PORT = 4010;

export type FakeLlmContainer = {
  /** The `apiBase` a tutor's config.json names. */
  apiBase: string;
  /** Removes the container (the network is the stack's to remove). */
  remove: () => Promise<void>;
};

/** Creates `network` and starts the fake LLM on it, with the file mounted into the project's Bun image. */
export async function startFakeLlmContainer(network: string): Promise<FakeLlmContainer> {
  const { bunImage } = await prepareBuild();
  const name = `${network}-llm`;
  await run(['docker', 'network', 'create', network]);
  await run([
    'docker', 'run', '-d', '--name', name, '--network', network,
    '-v', `${join(REPO_ROOT, 'agent/test/fake-llm.ts')}:/fake-llm.ts:ro`,
    bunImage, 'bun', '/fake-llm.ts', '--port', String(PORT), '--host', '0.0.0.0',
  ]);
  return {
    apiBase: `http://${name}:${PORT}/v1`,
    remove: async () => {
      await capture(['docker', 'rm', '-f', name]);
    },
  };
}
