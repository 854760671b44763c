/**
 * Student accounts, one-time invites and sign-in sessions, kept in the state database.
 * Passwords are stored only as Argon2id hashes; invite tokens and session ids only as SHA-256
 * digests, so a copy of the database lets nobody sign in.
 */
import type { Database } from 'bun:sqlite';
import { createHash, randomBytes } from 'node:crypto';

export const DEFAULT_SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** OWASP's Argon2id recommendation (19 MiB, 2 passes): each hash holds that much memory while it runs. */
const ARGON2 = { memoryCost: 19_456, timeCost: 2 };
/** Hashes at once; more sign-ins wait their turn, so a burst costs time, not the gateway's memory. */
const PARALLEL_HASHES = 2;
/** Past this many entries the session cache starts over; it only saves database reads. */
const SESSION_CACHE_LIMIT = 10_000;

export type StoreOptions = {
  db: Database;
  inviteTtlMs: number;
  sessionTtlMs?: number;
  now?: () => number;
  /** Argon2id cost (memory in KiB); ARGON2 unless a test asks for a cheaper one. */
  argon2?: { memoryCost: number; timeCost: number };
};

export type Invite = { email: string; token: string; expiresAt: number };
export type Session = { id: string; email: string; expiresAt: number };
export type StudentSummary = {
  email: string;
  disabled: boolean;
  /** False until the student has set a password through an invite. */
  hasPassword: boolean;
  createdAt: number;
  activeSessions: number;
  inviteExpiresAt: number | null;
};

type CachedSession = { email: string; expiresAt: number; revoked: boolean };

const digest = (value: string) => createHash('sha256').update(value).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');

export class AccountError extends Error {
  constructor(readonly code: 'unknown_account' | 'account_disabled', message: string) {
    super(message);
  }
}

export class AccountStore {
  readonly #db: Database;
  readonly #inviteTtlMs: number;
  readonly #sessionTtlMs: number;
  readonly #now: () => number;
  readonly #sessions = new Map<string, CachedSession>();
  /** Verified against when the account is missing, so a miss costs what a wrong password costs. */
  #dummyHash: Promise<string> | undefined;
  readonly #argon2: { memoryCost: number; timeCost: number };
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor({ db, inviteTtlMs, sessionTtlMs = DEFAULT_SESSION_TTL_MS, now = Date.now, argon2 }: StoreOptions) {
    this.#argon2 = argon2 ?? ARGON2;
    this.#db = db;
    this.#inviteTtlMs = inviteTtlMs;
    this.#sessionTtlMs = sessionTtlMs;
    this.#now = now;
  }

  /** Runs one Argon2id operation when a slot is free. */
  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= PARALLEL_HASHES) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running += 1;
    try {
      return await work();
    } finally {
      // A waiting operation takes over this slot; only without one is the slot given back.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }

  #hash(password: string): Promise<string> {
    return this.#limited(() => Bun.password.hash(password, { algorithm: 'argon2id', ...this.#argon2 }));
  }

  /** Creates the account when missing; false when it already existed (it is left as it was). */
  add(email: string): boolean {
    const result = this.#db.query('INSERT OR IGNORE INTO accounts (email, created_at) VALUES (?, ?)').run(email, this.#now());
    return result.changes === 1;
  }

  /** A new one-time invite; earlier unused invites of the account stop working. */
  invite(email: string): Invite {
    const account = this.#account(email);
    if (!account) throw new AccountError('unknown_account', `There is no account for ${email}.`);
    if (account.disabled) throw new AccountError('account_disabled', `The account ${email} is disabled; enable it first.`);
    const token = newToken();
    const expiresAt = this.#now() + this.#inviteTtlMs;
    this.#db.transaction(() => {
      this.#db.query('DELETE FROM invites WHERE (email = ? AND used_at IS NULL) OR expires_at < ?').run(email, this.#now());
      this.#db.query('INSERT INTO invites (token_hash, email, expires_at) VALUES (?, ?, ?)').run(digest(token), email, expiresAt);
    })();
    return { email, token, expiresAt };
  }

  /** The email an invite is for, while it is unused, unexpired and its account enabled. */
  inviteEmail(token: string): string | null {
    const row = this.#db
      .query<{ email: string }, [string, number]>(
        `SELECT i.email FROM invites i JOIN accounts a ON a.email = i.email
         WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ? AND a.disabled = 0`,
      )
      .get(digest(token), this.#now());
    return row?.email ?? null;
  }

  /**
   * Sets the password an invite allows, uses the invite up and ends every earlier session (an
   * invite is also how a password is reset). Null when the invite is not valid (any more).
   */
  async acceptInvite(token: string, password: string): Promise<Session | null> {
    const email = this.inviteEmail(token);
    if (!email) return null;
    const hash = await this.#hash(password);
    const used = this.#db.transaction(() => {
      // Checked again inside the transaction: two tabs accepting one invite must not both win.
      const claimed = this.#db.query('UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(this.#now(), digest(token));
      if (claimed.changes !== 1) return false;
      this.#db.query('UPDATE accounts SET password_hash = ? WHERE email = ?').run(hash, email);
      return true;
    })();
    if (!used) return null;
    this.revokeAll(email);
    return this.createSession(email);
  }

  /** Whether the password is right for an enabled account; always verifies exactly one Argon2id hash. */
  async checkPassword(email: string, password: string): Promise<boolean> {
    const account = this.#account(email);
    // Made on the first sign-in, whichever the account, so no answer is the only one that pays for it.
    this.#dummyHash ??= this.#hash(newToken());
    const dummy = await this.#dummyHash;
    const hash = account?.password_hash ?? dummy;
    const matches = await this.#limited(() => Bun.password.verify(password, hash, 'argon2id'));
    return matches && account !== null && account.password_hash !== null && !account.disabled;
  }

  createSession(email: string): Session {
    const id = newToken();
    const now = this.#now();
    const expiresAt = now + this.#sessionTtlMs;
    // Sign-ins are rare enough to sweep what has expired meanwhile, so the table does not grow forever.
    this.#db.query('DELETE FROM sessions WHERE expires_at < ?').run(now);
    this.#db.query('INSERT INTO sessions (id, email, created_at, expires_at) VALUES (?, ?, ?, ?)').run(digest(id), email, now, expiresAt);
    this.#cache(id, { email, expiresAt, revoked: false });
    return { id, email, expiresAt };
  }

  /** Whether a session is live and belongs to `email`; answered from memory after the first look. */
  sessionActive(id: string, email: string): boolean {
    let session = this.#sessions.get(id);
    if (!session) {
      const row = this.#db
        .query<{ email: string; expires_at: number; revoked_at: number | null }, [string]>('SELECT email, expires_at, revoked_at FROM sessions WHERE id = ?')
        .get(digest(id));
      if (!row) return false;
      session = { email: row.email, expiresAt: row.expires_at, revoked: row.revoked_at !== null };
      this.#cache(id, session);
    }
    return !session.revoked && session.email === email && session.expiresAt > this.#now();
  }

  /** Ends one session; returns the email it belonged to, if it existed. */
  revoke(id: string): string | null {
    const row = this.#db.query<{ email: string }, [string]>('SELECT email FROM sessions WHERE id = ?').get(digest(id));
    if (!row) return null;
    this.#db.query('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.#now(), digest(id));
    const cached = this.#sessions.get(id);
    if (cached) cached.revoked = true;
    return row.email;
  }

  /** Ends every session of an account ("sign out everywhere", disabling, a password reset). */
  revokeAll(email: string): void {
    this.#db.query('UPDATE sessions SET revoked_at = ? WHERE email = ? AND revoked_at IS NULL').run(this.#now(), email);
    for (const session of this.#sessions.values()) if (session.email === email) session.revoked = true;
  }

  /** Disables the account, ends its sessions and voids its invites. */
  disable(email: string): void {
    const changed = this.#db.query('UPDATE accounts SET disabled = 1 WHERE email = ?').run(email);
    if (changed.changes !== 1) throw new AccountError('unknown_account', `There is no account for ${email}.`);
    this.#db.query('DELETE FROM invites WHERE email = ? AND used_at IS NULL').run(email);
    this.revokeAll(email);
  }

  /** Deletes the account with its sessions and invites (ended at once); the address can be added again later. */
  delete(email: string): void {
    this.revokeAll(email);
    const deleted = this.#db.transaction(() => {
      this.#db.query('DELETE FROM invites WHERE email = ?').run(email);
      this.#db.query('DELETE FROM sessions WHERE email = ?').run(email);
      return this.#db.query('DELETE FROM accounts WHERE email = ?').run(email).changes;
    })();
    if (deleted !== 1) throw new AccountError('unknown_account', `There is no account for ${email}.`);
  }

  enable(email: string): void {
    const changed = this.#db.query('UPDATE accounts SET disabled = 0 WHERE email = ?').run(email);
    if (changed.changes !== 1) throw new AccountError('unknown_account', `There is no account for ${email}.`);
  }

  list(): StudentSummary[] {
    const now = this.#now();
    return this.#db
      .query<{ email: string; disabled: number; has_password: number; created_at: number; active: number; invite: number | null }, [number, number]>(
        `SELECT a.email, a.disabled, a.password_hash IS NOT NULL AS has_password, a.created_at,
           (SELECT COUNT(*) FROM sessions s WHERE s.email = a.email AND s.revoked_at IS NULL AND s.expires_at > ?1) AS active,
           (SELECT MAX(expires_at) FROM invites i WHERE i.email = a.email AND i.used_at IS NULL AND i.expires_at > ?2) AS invite
         FROM accounts a ORDER BY a.email`,
      )
      .all(now, now)
      .map((r) => ({
        email: r.email,
        disabled: r.disabled === 1,
        hasPassword: r.has_password === 1,
        createdAt: r.created_at,
        activeSessions: r.active,
        inviteExpiresAt: r.invite,
      }));
  }

  #account(email: string) {
    return this.#db
      .query<{ password_hash: string | null; disabled: number }, [string]>('SELECT password_hash, disabled FROM accounts WHERE email = ?')
      .get(email);
  }

  #cache(id: string, session: CachedSession): void {
    if (this.#sessions.size >= SESSION_CACHE_LIMIT) this.#sessions.clear();
    this.#sessions.set(id, session);
  }
}
