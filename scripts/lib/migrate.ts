/**
 * Moves student folders from the original gateway's layout into this stack's.
 *
 * The original gateway named a student's folder after the email alone, lower-cased with every
 * character outside [a-z0-9] turned into `_` (`data/alice_example_com/`), and the agent named the
 * session files after the same slug (`sessions/http_alice_example_com[_<session>].jsonl`). This stack
 * adds a hash of the email (`data/alice_example_com-ff8d9819fc/`, see gateway/src/identity.ts), so the
 * email has to be known: from a roster, or read back from the slug when only one address can give it.
 *
 * Nothing is deleted: folders and session files are renamed; a metadata line that names the old id is
 * rewritten in place. A folder is refused, never half-moved, when anything is uncertain.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emailSchema, identityFor } from '../../gateway/src/identity.ts';

/** The original gateway's folder name for an email. */
export function legacySlug(email: string): string {
  return email.toLowerCase().replace(/[^a-z0-9]/g, '_');
}

const LEGACY_FOLDER = /^[a-z0-9_]+$/;
const CURRENT_FOLDER = /^[a-z0-9_]+-[0-9a-f]{10}$/;

export type SessionRename = { from: string; to: string };

export type FolderPlan =
  | {
      action: 'move';
      folder: string;
      target: string;
      email: string;
      /** Where the email came from. */
      source: 'roster' | 'slug';
      sessions: SessionRename[];
      notes: string[];
    }
  | { action: 'refuse'; folder: string; reason: string }
  | { action: 'skip'; folder: string; reason: string };

export type Roster = { emails: string[]; problems: string[] };

/** Splits one CSV line into fields; double quotes may wrap a field and `""` stands for a quote. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',' || char === ';' || char === '\t') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  fields.push(field);
  return fields;
}

/**
 * The email addresses in a roster: every field containing `@`, whatever the column, so a plain list
 * and an export with a header (`name,email`) both work. A field with `@` that is not a valid address is
 * reported rather than silently dropped.
 */
export function parseRoster(text: string): Roster {
  const emails = new Set<string>();
  const problems: string[] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    for (const field of csvFields(line)) {
      if (!field.includes('@')) continue;
      const parsed = emailSchema.safeParse(field);
      if (parsed.success) emails.add(parsed.data);
      else problems.push(`roster line ${index + 1}: "${field.trim()}" is not a valid email address`);
    }
  }
  return { emails: [...emails], problems };
}

/**
 * The one address a slug can come from, or why there is none. A valid address has an `@` and at least
 * one dot in its domain, each turned into `_`; a slug with exactly three non-empty parts can therefore
 * only be `a@b.c`. With more parts the extra `_` could have been `.`, `-`, `+`, `_` or the `@` itself
 * (`john_smith_gmail_com` is `john.smith@gmail.com` or `john@smith.gmail.com`), so nothing is guessed.
 */
export function emailFromSlug(slug: string): { email: string } | { reason: string } {
  const parts = slug.split('_');
  if (parts.length === 3 && parts.every(Boolean)) {
    const parsed = emailSchema.safeParse(`${parts[0]}@${parts[1]}.${parts[2]}`);
    if (parsed.success) return { email: parsed.data };
    return { reason: `the slug reads as ${parts[0]}@${parts[1]}.${parts[2]}, which is not a valid address` };
  }
  if (parts.length > 3 && parts.every(Boolean)) {
    const [first = '', second = '', ...rest] = parts;
    return {
      reason: `the slug could come from several addresses (e.g. ${first}.${second}@${rest.join('.')} or ${first}@${[second, ...rest].join('.')})`,
    };
  }
  return { reason: 'the slug cannot be read back as one address' };
}

/** The session files of the student `oldId` and their names under `newId`. */
function sessionRenames(names: string[], oldId: string, newId: string): SessionRename[] {
  const prefix = `http_${oldId}`;
  return names
    .filter((name) => name.endsWith('.jsonl') && (name === `${prefix}.jsonl` || name.startsWith(`${prefix}_`)))
    .map((name) => ({ from: name, to: `http_${newId}${name.slice(prefix.length)}` }));
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function planFolder(dataDir: string, folder: string, roster: string[] | undefined): Promise<FolderPlan | undefined> {
  const path = join(dataDir, folder);
  if (folder.startsWith('.') || !(await isDirectory(path))) return undefined;
  if (CURRENT_FOLDER.test(folder)) return { action: 'skip', folder, reason: "already in this stack's layout" };
  if (!LEGACY_FOLDER.test(folder)) return { action: 'skip', folder, reason: 'not a student folder of either layout' };
  if (!(await isDirectory(join(path, 'workspace'))) && !(await isDirectory(join(path, 'sessions')))) {
    return { action: 'skip', folder, reason: 'has neither workspace/ nor sessions/, so it is not a nanobot folder' };
  }

  let email: string;
  let source: 'roster' | 'slug';
  if (roster) {
    const matches = roster.filter((candidate) => legacySlug(candidate) === folder);
    if (matches.length === 0) return { action: 'refuse', folder, reason: 'no address in the roster gives this slug' };
    if (matches.length > 1) return { action: 'refuse', folder, reason: `several addresses in the roster give this slug (${matches.join(', ')}), so whose data it is cannot be told` };
    email = matches[0] as string;
    source = 'roster';
  } else {
    const guess = emailFromSlug(folder);
    if ('reason' in guess) return { action: 'refuse', folder, reason: `${guess.reason}; list the student's address in --emails` };
    email = guess.email;
    source = 'slug';
  }

  const target = identityFor(email).id;
  if (existsSync(join(dataDir, target))) {
    return { action: 'refuse', folder, reason: `${target}/ exists already (the student has used this stack); merge the two by hand` };
  }

  const notes: string[] = [];
  const sessionsDir = join(path, 'sessions');
  const names = (await isDirectory(sessionsDir)) ? await readdir(sessionsDir) : [];
  const sessions = sessionRenames(names, folder, target);
  const taken = sessions.filter((rename) => names.includes(rename.to));
  if (taken.length > 0) {
    return { action: 'refuse', folder, reason: `sessions/${taken[0]?.to} exists beside sessions/${taken[0]?.from}; merge the two by hand` };
  }
  const others = names.filter((name) => !sessions.some((rename) => rename.from === name) && !name.startsWith(`http_${target}`));
  if (others.length > 0) notes.push(`kept as they are (not this student's HTTP chats): ${others.map((name) => `sessions/${name}`).join(', ')}`);
  if (existsSync(join(path, 'config.json'))) {
    notes.push('config.json is a copy of the old shared config and may hold provider keys; this stack mounts its own over it, so delete it once checked');
  }
  return { action: 'move', folder, target, email, source, sessions, notes };
}

/** What would be done to each folder of `dataDir`; changes nothing. */
export async function planMigration(dataDir: string, roster?: string[]): Promise<FolderPlan[]> {
  const plans: FolderPlan[] = [];
  for (const folder of (await readdir(dataDir)).sort()) {
    const plan = await planFolder(dataDir, folder, roster);
    if (plan) plans.push(plan);
  }
  return plans;
}

/** The metadata line with `oldId` replaced by `newId` in its session key and user id, or undefined when neither holds it. */
function rewrittenMetadata(line: string, oldId: string, newId: string): string | undefined {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== 'object' || record._type !== 'metadata') return undefined;
  let changed = false;
  const key = record.key;
  if (typeof key === 'string' && (key === `http:${oldId}` || key.startsWith(`http:${oldId}:`))) {
    record.key = `http:${newId}${key.slice(`http:${oldId}`.length)}`;
    changed = true;
  }
  const metadata = record.metadata;
  if (metadata && typeof metadata === 'object' && (metadata as Record<string, unknown>).user_id === oldId) {
    (metadata as Record<string, unknown>).user_id = newId;
    changed = true;
  }
  return changed ? JSON.stringify(record) : undefined;
}

export type MoveFailure = { folder: string; error: string };

/**
 * Carries out the `move` plans and returns the folders that failed (e.g. not writable), after trying
 * every other one. Per folder, the session files are renamed first and the folder last, so a run cut
 * short leaves the folder under its old name, and the next run finishes it.
 */
export async function applyMigration(dataDir: string, plans: FolderPlan[]): Promise<MoveFailure[]> {
  const failures: MoveFailure[] = [];
  for (const plan of plans) {
    if (plan.action !== 'move') continue;
    try {
      await moveFolder(dataDir, plan);
    } catch (error) {
      failures.push({ folder: plan.folder, error: (error as Error).message });
    }
  }
  return failures;
}

async function moveFolder(dataDir: string, plan: Extract<FolderPlan, { action: 'move' }>): Promise<void> {
  const from = join(dataDir, plan.folder);
  const to = join(dataDir, plan.target);
  for (const session of plan.sessions) {
    const oldPath = join(from, 'sessions', session.from);
    const newPath = join(from, 'sessions', session.to);
    if (existsSync(newPath)) throw new Error(`${newPath} appeared while migrating; nothing of it was overwritten`);
    const text = await readFile(oldPath, 'utf8');
    const end = text.indexOf('\n');
    const first = end === -1 ? text : text.slice(0, end);
    const metadata = rewrittenMetadata(first, plan.folder, plan.target);
    if (metadata !== undefined) {
      // Same folder, so the rename that follows is atomic; the file is never half-written.
      const temporary = `${oldPath}.migrating`;
      await writeFile(temporary, metadata + (end === -1 ? '' : text.slice(end)));
      await rename(temporary, oldPath);
    }
    await rename(oldPath, newPath);
  }
  // rename() would replace an empty folder of that name: check just before, as the plan did.
  if (existsSync(to)) throw new Error(`${plan.target}/ appeared while migrating; ${plan.folder}/ was left where it is`);
  await rename(from, to);
}
