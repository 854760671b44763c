/**
 * `bun run migrate`: moves student folders of the original gateway (`data/<slug>/`) into this stack's
 * layout (`data/<slug>-<hash>/`). Prints the plan; changes files only with `--apply`.
 *
 *   bun run migrate [--emails roster.csv] [--data-dir data] [--apply]
 *
 * Exits 1 when a folder was refused (the reason is printed), 2 on bad arguments.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './lib/images.ts';
import { applyMigration, parseRoster, planMigration, type FolderPlan } from './lib/migrate.ts';

let flags: { emails?: string; 'data-dir': string; apply: boolean };
try {
  flags = parseArgs({
    options: {
      emails: { type: 'string' },
      'data-dir': { type: 'string', default: join(REPO_ROOT, 'data') },
      apply: { type: 'boolean', default: false },
    },
  }).values as typeof flags;
} catch (error) {
  console.error(`${(error as Error).message}\nUsage: bun run migrate [--emails roster.csv] [--data-dir data] [--apply]`);
  process.exit(2);
}

const dataDir = flags['data-dir'];
let roster: string[] | undefined;
if (flags.emails) {
  const text = await readFile(flags.emails, 'utf8').catch(() => undefined);
  if (text === undefined) {
    console.error(`Cannot read the roster ${flags.emails}.`);
    process.exit(2);
  }
  const parsed = parseRoster(text);
  for (const problem of parsed.problems) console.warn(`warning: ${problem}`);
  roster = parsed.emails;
  console.log(`Roster: ${roster.length} address(es) from ${flags.emails}.`);
}

const plans = await planMigration(dataDir, roster).catch((error: NodeJS.ErrnoException) => {
  console.error(error.code === 'ENOENT' ? `There is no data folder at ${dataDir}.` : `Cannot read ${dataDir}: ${error.message}`);
  process.exit(2);
});
const inside = relative(process.cwd(), dataDir);
const shown = inside.startsWith('..') ? dataDir : inside || '.';

function describe(plan: FolderPlan): string[] {
  if (plan.action === 'skip') return [`skip    ${plan.folder}/: ${plan.reason}`];
  if (plan.action === 'refuse') return [`REFUSE  ${plan.folder}/: ${plan.reason}`];
  const from = plan.source === 'roster' ? 'from the roster' : 'read from the slug';
  return [
    `move    ${plan.folder}/ -> ${plan.target}/  (${plan.email}, ${from})`,
    ...plan.sessions.map((session) => `          sessions/${session.from} -> sessions/${session.to}`),
    ...plan.notes.map((note) => `          note: ${note}`),
  ];
}

console.log(`Student folders in ${shown}:`);
if (plans.length === 0) console.log('  (none)');
for (const plan of plans) for (const line of describe(plan)) console.log(`  ${line}`);

const moves = plans.filter((plan) => plan.action === 'move');
const refused = plans.filter((plan) => plan.action === 'refuse').length;
if (moves.length === 0) console.log('\nNothing to migrate.');
else if (!flags.apply) console.log(`\n${moves.length} folder(s) to move. Nothing was changed: run again with --apply to do it (stop the stack first: bun run down --agents).`);
else {
  const failures = await applyMigration(dataDir, plans);
  for (const failure of failures) console.error(`Could not move ${failure.folder}/: ${failure.error}`);
  console.log(`\nMoved ${moves.length - failures.length} folder(s). Nothing was deleted.`);
  if (failures.length > 0) {
    console.log(`${failures.length} folder(s) could not be moved (run migrate as the owner of the data folder); run again to finish them.`);
    process.exitCode = 1;
  }
}
if (refused > 0) {
  console.log(`${refused} folder(s) refused and left as they are; see the reasons above.`);
  process.exitCode = 1;
}
