/**
 * Extra CA certificates for hosts behind a TLS-intercepting proxy. Every Dockerfile copies
 * `certs/` into its image and points NODE_EXTRA_CA_CERTS at the bundle, so `bun install`
 * during a build and the agents' calls to LLM providers trust the same roots as this host.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Copies `EXTRA_CA_CERTS` (else `NODE_EXTRA_CA_CERTS`) into `<root>/certs/extra-ca.pem`. Returns the source used. */
export async function prepareExtraCaCerts(root: string): Promise<string | undefined> {
  const source = process.env.EXTRA_CA_CERTS || process.env.NODE_EXTRA_CA_CERTS;
  if (!source) return undefined;
  if (!existsSync(source)) throw new Error(`EXTRA_CA_CERTS names ${source}, which does not exist.`);
  await mkdir(join(root, 'certs'), { recursive: true });
  await copyFile(source, join(root, 'certs', 'extra-ca.pem'));
  return source;
}
