/**
 * `bun run students`: the administrator's side of local accounts. Talks to the running gateway's
 * admin API (`/admin/*`, on 127.0.0.1:GATEWAY_PORT) with ADMIN_TOKEN from `.env`, so it never
 * touches the state database itself (the gateway owns it, and it may belong to root). On Docker
 * Swarm, where the gateway's port is not published, it runs inside the gateway's container
 * (`docker exec <gateway> bun run students …`) and reads the token from ADMIN_TOKEN_FILE.
 *
 *   bun run students add alice@example.edu [bob@…]   create accounts, print their invite links
 *   bun run students import roster.csv                the same for every email address in a CSV
 *   bun run students invite alice@example.edu         a new invite link (password reset)
 *   bun run students disable alice@example.edu        refuse sign-in and end every session
 *   bun run students enable alice@example.edu
 *   bun run students delete alice@example.edu         the account, the tutor, and the folder moved aside
 *   bun run students list
 */
import { readFileSync } from 'node:fs';
import { identityFor } from '../gateway/src/identity.ts';
import { withSecretFiles } from '../gateway/src/secret-files.ts';
import { emailsInCsv, normalEmail } from './lib/roster.ts';
import { stackSetting } from './lib/stack.ts';

const USAGE = `usage: bun run students <command>
  add <email>...        create accounts and print one-time invite links
  import <file.csv>     add every email address found in the file
  invite <email>        a new invite link (also how a password is reset)
  disable <email>       refuse sign-in and end every session of the account
  enable <email>        allow sign-in again
  delete <email>        delete the account and the tutor; the folder is moved to .deleted/ in the data folder
  list                  every account and its state`;

function fail(message: string): never {
  console.error(`✖ ${message}`);
  process.exit(1);
}

const gatewayUrl = (process.env.GATEWAY_URL || `http://127.0.0.1:${stackSetting('GATEWAY_PORT', '8080')}`).replace(/\/+$/, '');
const publicUrl = stackSetting('PUBLIC_URL', `http://localhost:${stackSetting('WEB_PORT', '3000')}`).replace(/\/+$/, '');

/** ADMIN_TOKEN from the environment or `.env`, else from ADMIN_TOKEN_FILE: the Docker secret, when run in the gateway's Swarm task. */
function adminToken(): string {
  try {
    return withSecretFiles({ ADMIN_TOKEN: stackSetting('ADMIN_TOKEN', '') || undefined, ADMIN_TOKEN_FILE: process.env.ADMIN_TOKEN_FILE }).ADMIN_TOKEN ?? '';
  } catch (err) {
    fail((err as Error).message);
  }
}

/** The admin API's status and JSON body; fails only when the gateway is unreachable or has no admin API. */
async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: { error?: string } }> {
  const token = adminToken();
  if (!token) fail('ADMIN_TOKEN is missing from .env: run bun run setup first.');
  const response = await fetch(`${gatewayUrl}/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch(() => fail(`The gateway does not answer at ${gatewayUrl}: is the stack up (bun run setup)?`));
  const json = (await response.json().catch(() => ({}))) as { error?: string };
  if (response.status === 404 && !json.error) fail('The gateway has no admin API: set ADMIN_TOKEN in .env and LOCAL_AUTH_MODE=accounts, then run bun run setup.');
  return { status: response.status, json };
}

async function admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const { status, json } = await call(method, path, body);
  if (status >= 400) fail(json.error ?? `The gateway answered ${status}.`);
  return json as T;
}

/** The same, but a 404 naming what is missing (no account; no tutor or folder) is `undefined`. */
async function adminIfFound<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const { status, json } = await call(method, path, body);
  if (status === 404) return undefined;
  if (status >= 400) fail(json.error ?? `The gateway answered ${status}.`);
  return json as T;
}

/**
 * Sign-in refused first, so no new tutor can start meanwhile; then the tutor and the folder (moved
 * to data/.deleted/, purged after DELETED_RETENTION); the account last, so a failure part-way
 * leaves it disabled and the command can be run again.
 */
async function deleteStudent(email: string): Promise<void> {
  const disabled = await adminIfFound('POST', '/students/disable', { email });
  const { id } = identityFor(email);
  const removed = await adminIfFound<{ containerRemoved: boolean; dataMovedTo: string | null }>('DELETE', `/users/${id}?confirm=${id}`);
  if (disabled) await admin('POST', '/students/delete', { email });
  if (!disabled && !removed) fail(`Neither an account nor a tutor or folder belongs to ${email}.`);
  const gone = [disabled && 'the account', removed?.containerRemoved && 'the tutor', removed?.dataMovedTo && `the folder (moved to ${removed.dataMovedTo} in the data folder)`];
  console.log(`${email}: deleted ${gone.filter(Boolean).join(', ')}.`);
}

const inviteLink = (token: string) => `${publicUrl}/invite/${token}`;
const until = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

function emails(values: string[]): string[] {
  return values.map((value) => normalEmail(value) ?? fail(`Not an email address: ${value}`));
}

async function add(list: string[]): Promise<void> {
  if (list.length === 0) fail('Name at least one email address.');
  const { students } = await admin<{ students: { email: string; created: boolean; token?: string; expiresAt?: number }[] }>('POST', '/students', { emails: list });
  for (const s of students) {
    if (s.created && s.token) console.log(`${s.email}  ${inviteLink(s.token)}  (valid until ${until(s.expiresAt!)})`);
    else console.log(`${s.email}  already has an account (bun run students invite ${s.email} sends a new link)`);
  }
  console.log('\nSend each student their own link: it works once, and whoever opens it chooses the password.');
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case 'add':
    await add(emails(args));
    break;
  case 'import': {
    if (!args[0]) fail('Name a CSV file.');
    const found = emailsInCsv(readFileSync(args[0], 'utf8'));
    if (found.length === 0) fail(`No email addresses in ${args[0]}.`);
    await add(found);
    break;
  }
  case 'invite': {
    const [who] = emails(args.slice(0, 1));
    if (!who) fail('Name the email address.');
    const invite = await admin<{ email: string; token: string; expiresAt: number }>('POST', '/students/invite', { email: who });
    console.log(`${invite.email}  ${inviteLink(invite.token)}  (valid until ${until(invite.expiresAt)})`);
    break;
  }
  case 'disable':
  case 'enable': {
    const [who] = emails(args.slice(0, 1));
    if (!who) fail('Name the email address.');
    await admin('POST', `/students/${command}`, { email: who });
    console.log(command === 'disable' ? `${who} is disabled; every session of it has ended.` : `${who} may sign in again.`);
    break;
  }
  case 'delete': {
    const [who] = emails(args.slice(0, 1));
    if (!who) fail('Name the email address.');
    await deleteStudent(who);
    break;
  }
  case 'list': {
    const { students } = await admin<{ students: { email: string; disabled: boolean; hasPassword: boolean; activeSessions: number; inviteExpiresAt: number | null }[] }>('GET', '/students');
    if (students.length === 0) console.log('No accounts yet: bun run students add <email>');
    for (const s of students) {
      const state = s.disabled ? 'disabled' : s.hasPassword ? `active, ${s.activeSessions} session(s)` : 'invited, no password yet';
      const invite = s.inviteExpiresAt ? `, invite valid until ${until(s.inviteExpiresAt)}` : '';
      console.log(`${s.email}  ${state}${invite}`);
    }
    break;
  }
  default:
    console.error(USAGE);
    process.exit(command ? 1 : 0);
}
