/**
 * The base images every Dockerfile builds on (`BUN_IMAGE`, `NODE_IMAGE` build args).
 *
 * Where a registry is reachable these are the official `oven/bun` and `node` images. Where none
 * is (an air-gapped host, CI here), we build look-alikes from a Debian root file system made by
 * debootstrap plus the Bun and Node binaries installed on this host, and reuse them next time.
 */
import { mkdtemp, rm, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture, imageExists, run } from './run.ts';

export const OFFICIAL_BUN_IMAGE = 'oven/bun:1-slim';
export const OFFICIAL_NODE_IMAGE = 'node:22-bookworm-slim';
const DEBIAN_IMAGE = 'nanobot-debian:bookworm';

export type BaseImages = { bunImage: string; nodeImage: string; local: boolean };

/** Picks (and if needed builds) the base images. `BUN_IMAGE` / `NODE_IMAGE` in the environment win. */
export async function ensureBaseImages(log: (line: string) => void = console.log): Promise<BaseImages> {
  const fromEnv = { bunImage: process.env.BUN_IMAGE, nodeImage: process.env.NODE_IMAGE };
  if (fromEnv.bunImage && fromEnv.nodeImage) return { ...fromEnv, local: false } as BaseImages;

  if (await officialImagesAvailable(log)) {
    return { bunImage: OFFICIAL_BUN_IMAGE, nodeImage: OFFICIAL_NODE_IMAGE, local: false };
  }
  log('No container registry reachable: using local base images built from Debian (debootstrap).');
  const bunImage = await ensureLocalImage('bun', process.execPath, (await capture([process.execPath, '--version'])).stdout.trim());
  const nodePath = Bun.which('node');
  if (!nodePath) throw new Error('Node.js is needed to build the local node base image; install it (Node 20 or newer).');
  const nodeImage = await ensureLocalImage('node', nodePath, (await capture([nodePath, '--version'])).stdout.trim().replace(/^v/, ''));
  return { bunImage, nodeImage, local: true };
}

async function officialImagesAvailable(log: (line: string) => void): Promise<boolean> {
  for (const image of [OFFICIAL_BUN_IMAGE, OFFICIAL_NODE_IMAGE]) {
    if (await imageExists(image)) continue;
    log(`Pulling ${image}…`);
    const pulled = await capture(['docker', 'pull', image], { timeoutMs: 120_000 });
    if (pulled.code !== 0) return false;
  }
  return true;
}

/** Builds `nanobot-base-<kind>:<version>` from the Debian image plus one binary, unless it exists. */
async function ensureLocalImage(kind: 'bun' | 'node', binary: string, version: string): Promise<string> {
  const tag = `nanobot-base-${kind}:${version}`;
  if (await imageExists(tag)) return tag;
  await ensureDebianImage();
  const context = await mkdtemp(join(tmpdir(), `nanobot-base-${kind}-`));
  try {
    await copyFile(binary, join(context, kind));
    // Mirror the official images: the binary on PATH and an unprivileged user with uid 1000.
    const extra = kind === 'bun' ? 'RUN ln -s bun /usr/local/bin/bunx' : '';
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${DEBIAN_IMAGE}`,
        `COPY ${kind} /usr/local/bin/${kind}`,
        extra,
        `RUN useradd --uid 1000 --create-home ${kind}`,
        `CMD ["${kind}"]`,
      ].join('\n'),
    );
    await run(['docker', 'build', '-q', '-t', tag, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

async function ensureDebianImage(): Promise<void> {
  if (await imageExists(DEBIAN_IMAGE)) return;
  if (!Bun.which('debootstrap')) {
    throw new Error('No registry is reachable and debootstrap is missing: install it (apt-get install debootstrap) or set BUN_IMAGE and NODE_IMAGE.');
  }
  const root = await mkdtemp(join(tmpdir(), 'nanobot-debian-'));
  try {
    const made = await capture(['debootstrap', '--variant=minbase', '--include=ca-certificates', 'bookworm', root, debianMirror()]);
    if (made.code !== 0) throw new Error(`debootstrap failed:\n${made.stdout.slice(-2000)}${made.stderr.slice(-2000)}`);
    // Package caches, docs and translations are not needed at run time.
    const slim = ['./var/cache/apt', './var/lib/apt/lists', './usr/share/doc', './usr/share/man', './usr/share/locale', './usr/share/info'];
    const excludes = slim.map((path) => `--exclude='${path}/*'`).join(' ');
    await run(['sh', '-c', `tar -C '${root}' ${excludes} -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' - ${DEBIAN_IMAGE}`]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function debianMirror(): string {
  return process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
}
