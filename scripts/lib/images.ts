/** Builds the project's images from the repository root, on the base images of base-images.ts. */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBaseImages, type BaseImages } from './base-images.ts';
import { prepareExtraCaCerts } from './certs.ts';
import { capture, run } from './run.ts';

export const REPO_ROOT = join(import.meta.dir, '..', '..');

let prepared: Promise<BaseImages> | undefined;

/** Base images and CA certificates, made ready once per process. */
export function prepareBuild(log: (line: string) => void = console.log): Promise<BaseImages> {
  prepared ??= prepareExtraCaCerts(REPO_ROOT).then(() => ensureBaseImages(log));
  return prepared;
}

export type BuildOptions = {
  /** Dockerfile path relative to the repository root, e.g. `agent/Dockerfile`. */
  dockerfile: string;
  tag: string;
  /** Build context; the repository root unless given (it holds bun.lock and certs/). */
  context?: string;
  quiet?: boolean;
  /** Appends the whole build output to this file instead of showing it; a failure shows the last lines and names the file. */
  logFile?: string;
};

export async function buildImage({ dockerfile, tag, context = REPO_ROOT, quiet = false, logFile }: BuildOptions): Promise<void> {
  const { bunImage, nodeImage } = await prepareBuild();
  const cmd = [
    'docker', 'build',
    '-f', join(REPO_ROOT, dockerfile),
    '--build-arg', `BUN_IMAGE=${bunImage}`,
    '--build-arg', `NODE_IMAGE=${nodeImage}`,
    '-t', tag,
    context,
  ];
  if (logFile) {
    const built = await capture(cmd);
    await appendFile(logFile, `$ ${cmd.join(' ')}\n${built.stdout}${built.stderr}\n`);
    if (built.code !== 0) {
      const last = `${built.stdout}${built.stderr}`.trimEnd().split('\n').slice(-20).join('\n');
      throw new Error(`building ${tag} from ${dockerfile} failed:\n${last}\nThe whole build log: ${logFile}`);
    }
    return;
  }
  if (!quiet) return run(cmd);
  // Quiet builds show nothing unless they fail, and then show why.
  const built = await capture(cmd);
  if (built.code !== 0) throw new Error(`building ${tag} from ${dockerfile} failed:\n${built.stdout.slice(-3000)}${built.stderr.slice(-3000)}`);
}

/** The reference agent's image name: the one name setup builds `agent/` into. */
export const REFERENCE_AGENT_IMAGE = 'nanobot-tutor';

/**
 * Whether AGENT_IMAGE names the reference agent, which setup builds from `agent/`. An image under
 * any other name is one the administrator built and named themselves: setup must never overwrite it.
 */
export const isReferenceAgentImage = (image: string): boolean => [REFERENCE_AGENT_IMAGE, `${REFERENCE_AGENT_IMAGE}:latest`].includes(image);
