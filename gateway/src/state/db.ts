/**
 * The stack's own state (accounts, invites, sign-in sessions): one SQLite file the gateway owns,
 * `<DATA_DIR>/.state/stack.db`, so backing up `data/` backs it up too.
 *
 * The folder starts with a dot on purpose: student folders are `<slug>-<hash>` with a slug of
 * `[a-z0-9_]`, so no student id can ever name it and no agent is ever spawned on it.
 */
import { Database } from 'bun:sqlite';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_FOLDER = '.state';
export const STATE_FILE = 'stack.db';

/** Each entry moves the schema one version up; applied in order, never edited once shipped. */
const MIGRATIONS = [
  `CREATE TABLE accounts (
     email TEXT PRIMARY KEY,
     password_hash TEXT,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE invites (
     token_hash TEXT PRIMARY KEY,
     email TEXT NOT NULL REFERENCES accounts(email),
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE INDEX invites_email ON invites(email);
   CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL REFERENCES accounts(email),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE INDEX sessions_email ON sessions(email);`,
];

export function statePath(dataDir: string): string {
  return join(dataDir, STATE_FOLDER, STATE_FILE);
}

/** Opens (creating when missing) the state database with the folder 0700 and the file 0600. */
export function openStateDb(dataDir: string): Database {
  const folder = join(dataDir, STATE_FOLDER);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700);
  const path = statePath(dataDir);
  // Create the file ourselves first so it never exists, even for a moment, with a wider mode.
  // SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { create: true, strict: true });
  chmodSync(path, 0o600);
  db.run('PRAGMA journal_mode = WAL');
  db.run('PRAGMA foreign_keys = ON');
  db.run('PRAGMA busy_timeout = 2000');
  migrate(db);
  return db;
}

function migrate(db: Database): void {
  const { user_version: version } = db.query<{ user_version: number }, []>('PRAGMA user_version').get()!;
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.transaction(() => {
      db.run(MIGRATIONS[next]!);
      db.run(`PRAGMA user_version = ${next + 1}`);
    })();
  }
}
