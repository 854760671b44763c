import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { SessionStore } from '../../agent/src/sessions.ts';
import { identityFor } from '../../gateway/src/identity.ts';
import { applyMigration, emailFromSlug, parseRoster, planMigration } from '../lib/migrate.ts';

const SESSION = '3f2b8c1e-9d4a-4e6b-a1c2-7b8d9e0f1a2b';
const ALICE = identityFor('alice@example.com').id;

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'migrate-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(join(dataDir, path)), { recursive: true });
  await writeFile(join(dataDir, path), content);
}

/** A student folder as the original gateway and the real nanobot image left it. */
async function legacyFolder(slug: string): Promise<void> {
  const metadata = (extra: object = {}) => JSON.stringify({ _type: 'metadata', created_at: '2025-01-01T10:00:00', updated_at: '2025-01-02T10:00:00', metadata: {}, last_consolidated: 0, ...extra });
  const message = (role: string, content: string) => JSON.stringify({ role, content, timestamp: '2025-01-01T10:00:01' });
  await put(`${slug}/config.json`, '{"providers":{"openai":{"apiKey":"sk-old"}}}');
  await put(`${slug}/workspace/SOUL.md`, 'I am a patient tutor.\n');
  await put(`${slug}/workspace/memory/MEMORY.md`, '- studies chemistry\n');
  await put(`${slug}/workspace/files_uploaded/notes.pdf`, '%PDF-1.4 notes');
  await put(`${slug}/cron/jobs.json`, '{"jobs":[]}');
  await put(`${slug}/sessions/http_${slug}.jsonl`, [metadata(), message('user', 'hello'), message('assistant', 'hi')].join('\n') + '\n');
  await put(
    `${slug}/sessions/http_${slug}_${SESSION}.jsonl`,
    [metadata({ key: `http:${slug}:${SESSION}` }), message('user', 'what is a mole?'), message('assistant', '6.022e23 things')].join('\n') + '\n',
  );
  await put(`${slug}/sessions/cli_direct.jsonl`, metadata() + '\n');
}

/** Every file under the data folder with its content, to show what a step changed. */
async function tree(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const path of await readdir(dataDir, { recursive: true })) {
    const full = join(dataDir, path);
    if ((await stat(full)).isFile()) files[relative(dataDir, full)] = await readFile(full, 'utf8');
  }
  return files;
}

describe('planMigration', () => {
  test('plans the move of a legacy folder and its session files without changing anything', async () => {
    await legacyFolder('alice_example_com');
    const before = await tree();
    const plans = await planMigration(dataDir);
    expect(plans).toHaveLength(1);
    const plan = plans[0];
    if (plan?.action !== 'move') throw new Error(`expected a move, got ${JSON.stringify(plan)}`);
    expect(plan).toMatchObject({ folder: 'alice_example_com', target: ALICE, email: 'alice@example.com', source: 'slug' });
    expect(plan.sessions).toEqual([
      { from: 'http_alice_example_com.jsonl', to: `http_${ALICE}.jsonl` },
      { from: `http_alice_example_com_${SESSION}.jsonl`, to: `http_${ALICE}_${SESSION}.jsonl` },
    ]);
    expect(plan.notes.join('\n')).toContain('sessions/cli_direct.jsonl');
    expect(plan.notes.join('\n')).toContain('config.json');
    expect(await tree()).toEqual(before);
  });

  test('leaves folders of the current layout and things that are not student folders alone', async () => {
    await put(`${ALICE}/workspace/SOUL.md`, 'x');
    await put('.gitkeep', '');
    await put('Some Folder/workspace/x', 'x');
    await put('bob_example_com/readme.txt', 'not nanobot');
    const plans = await planMigration(dataDir);
    expect(plans.map((plan) => [plan.folder, plan.action])).toEqual([
      ['Some Folder', 'skip'],
      [ALICE, 'skip'],
      ['bob_example_com', 'skip'],
    ]);
  });
});

describe('applyMigration', () => {
  test('moves the folder, renames the sessions and keeps every byte of everything else', async () => {
    await legacyFolder('alice_example_com');
    const before = await tree();
    await applyMigration(dataDir, await planMigration(dataDir));
    const after = await tree();

    expect(Object.keys(after).some((path) => path.startsWith('alice_example_com/'))).toBe(false);
    for (const [path, content] of Object.entries(before)) {
      const moved = path.replace('alice_example_com/', `${ALICE}/`).replace(/sessions\/http_alice_example_com/, `sessions/http_${ALICE}`);
      if (path.endsWith(`_${SESSION}.jsonl`)) continue;
      expect(after[moved]).toBe(content);
    }
    expect(Object.keys(after)).toHaveLength(Object.keys(before).length);

    // The reference agent's metadata key named the old id: rewritten, the messages untouched.
    const rewritten = after[`${ALICE}/sessions/http_${ALICE}_${SESSION}.jsonl`]?.split('\n') ?? [];
    expect(JSON.parse(rewritten[0] ?? '{}').key).toBe(`http:${ALICE}:${SESSION}`);
    const original = before[`alice_example_com/sessions/http_alice_example_com_${SESSION}.jsonl`]?.split('\n') ?? [];
    expect(rewritten.slice(1)).toEqual(original.slice(1));
  });

  test('leaves chats the reference agent lists under the new id', async () => {
    await legacyFolder('alice_example_com');
    await applyMigration(dataDir, await planMigration(dataDir));
    const sessions = await new SessionStore(join(dataDir, ALICE, 'sessions')).list(ALICE);
    expect(sessions.map((session) => session.session_id).sort()).toEqual([SESSION, 'default'].sort());
    expect(sessions.find((session) => session.session_id === SESSION)?.messages.map((m) => m.content)).toEqual(['what is a mole?', '6.022e23 things']);
  });

  test('is idempotent: a second run finds nothing to do and changes nothing', async () => {
    await legacyFolder('alice_example_com');
    await applyMigration(dataDir, await planMigration(dataDir));
    const once = await tree();
    const again = await planMigration(dataDir);
    expect(again).toEqual([{ action: 'skip', folder: ALICE, reason: "already in this stack's layout" }]);
    await applyMigration(dataDir, again);
    expect(await tree()).toEqual(once);
  });

  test('finishes a run that was cut short after renaming some session files', async () => {
    await legacyFolder('alice_example_com');
    const [plan] = await planMigration(dataDir);
    if (plan?.action !== 'move') throw new Error('expected a move');
    // As if the run stopped after the first session file: that one renamed, the folder not.
    const first = plan.sessions[0];
    if (!first) throw new Error('expected a session');
    await rename(join(dataDir, 'alice_example_com/sessions', first.from), join(dataDir, 'alice_example_com/sessions', first.to));

    const resumed = await planMigration(dataDir);
    expect(resumed[0]).toMatchObject({ action: 'move', sessions: [plan.sessions[1]] });
    await applyMigration(dataDir, resumed);
    const names = await readdir(join(dataDir, ALICE, 'sessions'));
    expect(names.sort()).toEqual(['cli_direct.jsonl', `http_${ALICE}.jsonl`, `http_${ALICE}_${SESSION}.jsonl`].sort());
  });

  test('reports a folder it could not move, leaves it under its old name and still moves the others', async () => {
    await legacyFolder('alice_example_com');
    await legacyFolder('bob_example_org');
    const plans = await planMigration(dataDir);
    // The session file vanishes between the plan and the move (another process, a permission problem).
    await rm(join(dataDir, 'bob_example_org/sessions/http_bob_example_org.jsonl'));
    const failures = await applyMigration(dataDir, plans);
    expect(failures).toEqual([{ folder: 'bob_example_org', error: expect.stringContaining('ENOENT') }]);
    expect(await Bun.file(join(dataDir, ALICE, 'workspace/SOUL.md')).exists()).toBe(true);
    expect(await Bun.file(join(dataDir, 'bob_example_org/workspace/SOUL.md')).exists()).toBe(true);
  });

  test('refuses to overwrite a target folder that exists, and touches neither folder', async () => {
    await legacyFolder('alice_example_com');
    await put(`${ALICE}/workspace/memory/MEMORY.md`, 'new stack memory\n');
    const before = await tree();
    const plans = await planMigration(dataDir);
    expect(plans.find((plan) => plan.folder === 'alice_example_com')).toMatchObject({ action: 'refuse', reason: expect.stringContaining('exists already') });
    await applyMigration(dataDir, plans);
    expect(await tree()).toEqual(before);
  });
});

describe('whose folder it is', () => {
  test('reads an address back from a slug only when one address can give it', () => {
    expect(emailFromSlug('alice_example_com')).toEqual({ email: 'alice@example.com' });
    expect(emailFromSlug('john_smith_gmail_com')).toMatchObject({ reason: expect.stringContaining('several addresses') });
    expect(emailFromSlug('alice_example_1')).toMatchObject({ reason: expect.stringContaining('not a valid address') });
    expect(emailFromSlug('alice__example_com')).toMatchObject({ reason: expect.any(String) });
    expect(emailFromSlug('alice')).toMatchObject({ reason: expect.any(String) });
  });

  test('refuses an ambiguous slug without a roster, and leaves it in place', async () => {
    await legacyFolder('john_smith_gmail_com');
    const before = await tree();
    const plans = await planMigration(dataDir);
    expect(plans).toEqual([{ action: 'refuse', folder: 'john_smith_gmail_com', reason: expect.stringContaining('--emails') }]);
    await applyMigration(dataDir, plans);
    expect(await tree()).toEqual(before);
  });

  test('refuses a slug that two roster addresses share', async () => {
    await legacyFolder('john_smith_gmail_com');
    const plans = await planMigration(dataDir, ['john.smith@gmail.com', 'john@smith.gmail.com']);
    expect(plans[0]).toMatchObject({ action: 'refuse', reason: expect.stringContaining('john.smith@gmail.com, john@smith.gmail.com') });
  });

  test('takes the address from the roster, and refuses a folder the roster does not name', async () => {
    await legacyFolder('john_smith_gmail_com');
    await legacyFolder('alice_example_com');
    const roster = parseRoster('name,email\n"Smith, John",John.Smith@Gmail.com\nCarol,carol@example.org\nbroken,not@valid@x\n');
    expect(roster.emails).toEqual(['john.smith@gmail.com', 'carol@example.org']);
    expect(roster.problems).toEqual(['roster line 4: "not@valid@x" is not a valid email address']);

    const plans = await planMigration(dataDir, roster.emails);
    expect(plans).toEqual([
      { action: 'refuse', folder: 'alice_example_com', reason: 'no address in the roster gives this slug' },
      expect.objectContaining({ action: 'move', folder: 'john_smith_gmail_com', email: 'john.smith@gmail.com', source: 'roster', target: identityFor('john.smith@gmail.com').id }),
    ]);
  });
});

describe('bun run migrate', () => {
  const run = async (...args: string[]) => {
    const child = Bun.spawn(['bun', join(import.meta.dir, '..', 'migrate.ts'), '--data-dir', dataDir, ...args], { stdout: 'pipe', stderr: 'pipe' });
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    return { stdout, code };
  };

  test('prints the plan, acts only with --apply, then has nothing to do', async () => {
    await legacyFolder('alice_example_com');
    await put('roster.csv', 'email\nalice@example.com\n');
    const roster = join(dataDir, 'roster.csv');

    const dry = await run('--emails', roster);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`move    alice_example_com/ -> ${ALICE}/  (alice@example.com, from the roster)`);
    expect(dry.stdout).toContain('run again with --apply');
    expect(await Bun.file(join(dataDir, 'alice_example_com/workspace/SOUL.md')).exists()).toBe(true);

    const applied = await run('--emails', roster, '--apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Moved 1 folder(s)');
    expect(await Bun.file(join(dataDir, ALICE, 'workspace/SOUL.md')).text()).toBe('I am a patient tutor.\n');

    const again = await run('--emails', roster, '--apply');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to migrate.');
  });

  test('exits 1 and names the reason when a folder is refused', async () => {
    await legacyFolder('john_smith_gmail_com');
    const result = await run('--apply');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('REFUSE  john_smith_gmail_com/: the slug could come from several addresses');
  });
});
