/** Builds the project's images from the repository root, on the base images of base-images.ts. */
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
};

export async function buildImage({ dockerfile, tag, context = REPO_ROOT, quiet = false }: BuildOptions): Promise<void> {
  const { bunImage, nodeImage } = await prepareBuild();
  const cmd = [
    'docker', 'build',
    '-f', join(REPO_ROOT, dockerfile),
    '--build-arg', `BUN_IMAGE=${bunImage}`,
    '--build-arg', `NODE_IMAGE=${nodeImage}`,
    '-t', tag,
    context,
  ];
  if (!quiet) return run(cmd);
  // Quiet builds show nothing unless they fail, and then show why.
  const built = await capture(cmd);
  if (built.code !== 0) throw new Error(`building ${tag} from ${dockerfile} failed:\n${built.stdout.slice(-3000)}${built.stderr.slice(-3000)}`);
}
