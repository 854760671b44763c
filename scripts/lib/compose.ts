/** Finds Docker Compose: v2 (`docker compose`) when installed, else v1 (`docker-compose`). */
import { capture } from './run.ts';

export async function findCompose(): Promise<string[] | undefined> {
  if ((await capture(['docker', 'compose', 'version'])).code === 0) return ['docker', 'compose'];
  if (Bun.which('docker-compose') && (await capture(['docker-compose', 'version'])).code === 0) return ['docker-compose'];
  return undefined;
}
