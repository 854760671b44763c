/**
 * `bun run down`: stops the web app and the gateway. With `--agents` it also stops every agent
 * container this stack spawned. Never touches `data/`: the next `setup` or `up` finds it all.
 */
import { parseArgs } from 'node:util';
import { findCompose } from './lib/compose.ts';
import { REPO_ROOT } from './lib/images.ts';
import { capture, run } from './lib/run.ts';
import { agentLabelFilters, useStackEngine } from './lib/stack.ts';

const { values: flags } = parseArgs({ options: { agents: { type: 'boolean', default: false } } });
useStackEngine();
const compose = await findCompose();
if (!compose) {
  console.error('Docker Compose is missing: install the compose plugin (docker compose) or docker-compose 1.29.');
  process.exit(1);
}
await run([...compose, 'down'], { cwd: REPO_ROOT });
if (flags.agents) {
  const ids = (await capture(['docker', 'ps', '-q', ...agentLabelFilters()])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await run(['docker', 'stop', ...ids]);
  console.log(`Stopped ${ids.length} agent container(s); their data stays in data/.`);
}
