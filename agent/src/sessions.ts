/**
 * Conversations stored as nanobot stores them: `sessions/http_<user>[_<session>].jsonl`, a metadata line
 * first, then one message a line. Every save rewrites the file atomically.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './workspace.ts';

export const DEFAULT_SESSION = 'default';
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TITLE_LENGTH = 60;

export function isSafeId(value: string): boolean {
  return SAFE_ID.test(value);
}

export type TurnStatus = 'error' | 'stopped';

export type StoredMessage = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  timestamp: string;
  /** Set on an answer that failed (`error`, with `error` and `code`) or was cut short by Stop (`stopped`). */
  status?: TurnStatus;
  error?: string;
  code?: string;
  /** Workspace-relative paths of the images sent with a user message. */
  images?: string[];
};

/** Failed and stopped answers are kept for the student but never shown to the model again. */
export function isComplete(message: StoredMessage): boolean {
  return message.status === undefined;
}

export type Session = {
  /** nanobot's session key as found in the file, `http:<user>[:<session>]`. */
  key: string;
  userId: string;
  sessionId: string;
  createdAt: string;
  updatedAt: string;
  title: string;
  /** How many leading messages are already summarised into memory (nanobot's `last_consolidated`). */
  lastConsolidated: number;
  messages: StoredMessage[];
};

export type SessionSummary = {
  session_id: string;
  title: string;
  updated_at: string;
  messages: StoredMessage[];
};

function sessionKey(userId: string, sessionId: string): string {
  return sessionId === DEFAULT_SESSION ? `http:${userId}` : `http:${userId}:${sessionId}`;
}

function fileName(userId: string, sessionId: string): string {
  return `${sessionKey(userId, sessionId).replaceAll(':', '_')}.jsonl`;
}

export function titleFrom(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > TITLE_LENGTH ? `${line.slice(0, TITLE_LENGTH - 1)}…` : line;
}

export function newMessage(role: StoredMessage['role'], content: string, extra: Partial<StoredMessage> = {}): StoredMessage {
  return { id: randomUUID(), role, content, timestamp: new Date().toISOString(), ...extra };
}

const optionalString = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/** Keeps only the optional fields a line really has, so old session files read back unchanged. */
function optionalFields(record: Record<string, unknown>): Partial<StoredMessage> {
  const fields: Partial<StoredMessage> = {};
  if (record.status === 'error' || record.status === 'stopped') fields.status = record.status;
  const error = optionalString(record.error);
  if (error) fields.error = error;
  const code = optionalString(record.code);
  if (code) fields.code = code;
  if (Array.isArray(record.images)) fields.images = record.images.filter((path): path is string => typeof path === 'string');
  return fields;
}

/** One line's record, or undefined for a line that is not a JSON object (e.g. cut short by a crash of another writer). */
function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const record: unknown = JSON.parse(line);
    return record !== null && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a session file; a line that does not parse is skipped (and reported) so the rest stays readable. */
function parse(text: string, userId: string, sessionId: string, file: string): Session {
  const now = new Date().toISOString();
  const session: Session = { key: sessionKey(userId, sessionId), userId, sessionId, createdAt: now, updatedAt: now, title: '', lastConsolidated: 0, messages: [] };
  const skipped: number[] = [];
  // nanobot's last_consolidated counts message lines, its tool steps too: how many kept messages precede each line maps it.
  const keptBefore: number[] = [];
  let consolidatedLines = 0;
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const record = parseLine(line);
    if (record?._type === 'metadata') {
      const metadata = (record.metadata ?? {}) as Record<string, unknown>;
      session.key = String(record.key ?? session.key);
      session.createdAt = String(record.created_at ?? now);
      session.updatedAt = String(record.updated_at ?? now);
      consolidatedLines = Math.max(0, Math.floor(Number(record.last_consolidated)) || 0);
      session.title = String(metadata.title ?? '');
      continue;
    }
    keptBefore.push(session.messages.length);
    if (!record) {
      skipped.push(index + 1);
      continue;
    }
    // nanobot also stores its tool steps (an assistant's tool_calls, the tool results): not part of the conversation kept here.
    if ((record.role === 'user' || record.role === 'assistant') && !record.tool_calls) {
      session.messages.push({
        id: String(record.id ?? randomUUID()),
        role: record.role,
        content: String(record.content ?? ''),
        timestamp: String(record.timestamp ?? session.updatedAt),
        ...optionalFields(record),
      });
    }
  }
  session.lastConsolidated = keptBefore[consolidatedLines] ?? session.messages.length;
  if (skipped.length) console.warn(`session file ${file}: skipped unreadable line ${skipped.join(', ')}`);
  return session;
}

function serialise(session: Session): string {
  const metadata = {
    _type: 'metadata',
    key: sessionKey(session.userId, session.sessionId),
    created_at: session.createdAt,
    updated_at: session.updatedAt,
    metadata: { user_id: session.userId, session_id: session.sessionId, title: session.title },
    last_consolidated: session.lastConsolidated,
  };
  return [metadata, ...session.messages].map((record) => JSON.stringify(record)).join('\n') + '\n';
}

export class SessionStore {
  constructor(private readonly dir: string) {}

  async load(userId: string, sessionId: string): Promise<Session> {
    const path = join(this.dir, fileName(userId, sessionId));
    try {
      return parse(await readFile(path, 'utf8'), userId, sessionId, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return parse('', userId, sessionId, path);
    }
  }

  async save(session: Session): Promise<void> {
    session.updatedAt = new Date().toISOString();
    await writeFileAtomic(join(this.dir, fileName(session.userId, session.sessionId)), serialise(session));
  }

  async exists(userId: string, sessionId: string): Promise<boolean> {
    return Bun.file(join(this.dir, fileName(userId, sessionId))).exists();
  }

  /** Returns whether a file was there to delete. */
  async delete(userId: string, sessionId: string): Promise<boolean> {
    const path = join(this.dir, fileName(userId, sessionId));
    const existed = await Bun.file(path).exists();
    await rm(path, { force: true });
    return existed;
  }

  /** The user's sessions with their messages, most recently updated first. */
  async list(userId: string): Promise<SessionSummary[]> {
    const prefix = `http_${userId}`;
    const names = (await readdir(this.dir)).filter((name) => name.startsWith(prefix) && name.endsWith('.jsonl'));
    const sessions: Session[] = [];
    for (const name of names) {
      const rest = name.slice(prefix.length, -'.jsonl'.length);
      const sessionId = rest === '' ? DEFAULT_SESSION : rest.startsWith('_') ? rest.slice(1) : undefined;
      if (sessionId === undefined || !isSafeId(sessionId)) continue;
      const session = await this.load(userId, sessionId);
      // `http_alice_x.jsonl` could be alice's session x or user alice_x's default one; the key decides.
      if (session.key === sessionKey(userId, sessionId) && session.messages.length > 0) sessions.push(session);
    }
    return sessions
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .map((s) => ({
        session_id: s.sessionId,
        title: s.title,
        updated_at: s.updatedAt,
        messages: s.messages,
      }));
  }
}
