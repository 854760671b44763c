/**
 * Per-student LLM usage, durable across restarts: one SQLite file (bun:sqlite) under
 * `<DATA_DIR>/.state/`, one row per day, user, provider and model. Today's token totals, which the
 * limits read on every call, are also kept in memory: read from the file once a day (or at start)
 * and added to as answers are recorded. The gateway is the file's only writer.
 */
import { Database } from 'bun:sqlite';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Usage } from './usage.ts';

export type Counts = { requests: number; promptTokens: number; completionTokens: number };
export type UserUsage = { userId: string; today: Counts; total: Counts };
export type ModelUsage = Counts & { provider: string; model: string };

/** Days are UTC calendar days: the budget resets at midnight UTC. */
export const dayOf = (now: Date): string => now.toISOString().slice(0, 10);

const COUNTS = 'COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(prompt_tokens), 0) AS promptTokens, COALESCE(SUM(completion_tokens), 0) AS completionTokens';

export class UsageStore {
  private readonly db: Database;
  private readonly insert;
  private readonly tokensByUser;
  /** Today's tokens per user and in all, as the file has them plus what was recorded since. */
  private today: { day: string; users: Map<string, number>; all: number } | undefined;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Made by us first so it is never readable by others; SQLite gives its journal the same mode.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path, { strict: true });
    this.db.run('PRAGMA journal_mode = WAL');
    this.db.run('PRAGMA busy_timeout = 2000');
    this.db.run(`CREATE TABLE IF NOT EXISTS llm_usage (
      day TEXT NOT NULL, user_id TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
      requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      PRIMARY KEY (day, user_id, provider, model))`);
    this.insert = this.db.query(`INSERT INTO llm_usage VALUES ($day, $user, $provider, $model, 1, $prompt, $completion)
      ON CONFLICT (day, user_id, provider, model) DO UPDATE SET requests = requests + 1,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens`);
    this.tokensByUser = this.db.query<{ userId: string; tokens: number }, { day: string }>(
      'SELECT user_id AS userId, SUM(prompt_tokens + completion_tokens) AS tokens FROM llm_usage WHERE day = $day GROUP BY user_id',
    );
  }

  /** One forwarded request and the tokens its answer reported (or that were estimated, usage.ts). */
  record(userId: string, provider: string, usage: Usage, now = new Date()): void {
    const day = dayOf(now);
    const prompt = Math.round(usage.promptTokens);
    const completion = Math.round(usage.completionTokens);
    this.insert.run({ day, user: userId, provider, model: usage.model, prompt, completion });
    if (this.today?.day === day) {
      this.today.users.set(userId, (this.today.users.get(userId) ?? 0) + prompt + completion);
      this.today.all += prompt + completion;
    }
  }

  private todayOf(now: Date) {
    const day = dayOf(now);
    if (this.today?.day !== day) {
      const rows = this.tokensByUser.all({ day });
      this.today = { day, users: new Map(rows.map(({ userId, tokens }) => [userId, tokens])), all: rows.reduce((sum, { tokens }) => sum + tokens, 0) };
    }
    return this.today;
  }

  tokensToday(userId: string, now = new Date()): number {
    return this.todayOf(now).users.get(userId) ?? 0;
  }

  globalTokensToday(now = new Date()): number {
    return this.todayOf(now).all;
  }

  /** Every student who used the relay: today's counts and all-time totals. */
  perUser(now = new Date()): UserUsage[] {
    const today = new Map(
      this.db
        .query<Counts & { userId: string }, { day: string }>(`SELECT user_id AS userId, ${COUNTS} FROM llm_usage WHERE day = $day GROUP BY user_id`)
        .all({ day: dayOf(now) })
        .map(({ userId, ...counts }) => [userId, counts]),
    );
    return this.db
      .query<Counts & { userId: string }, []>(`SELECT user_id AS userId, ${COUNTS} FROM llm_usage GROUP BY user_id ORDER BY user_id`)
      .all()
      .map(({ userId, ...total }) => ({ userId, today: today.get(userId) ?? { requests: 0, promptTokens: 0, completionTokens: 0 }, total }));
  }

  /** All-time counts by provider and model, for metrics. */
  byModel(): ModelUsage[] {
    return this.db
      .query<ModelUsage, []>(`SELECT provider, model, ${COUNTS} FROM llm_usage GROUP BY provider, model ORDER BY provider, model`)
      .all();
  }

  totals(now = new Date()): { today: Counts; total: Counts } {
    const today = this.db.query<Counts, { day: string }>(`SELECT ${COUNTS} FROM llm_usage WHERE day = $day`).get({ day: dayOf(now) });
    const total = this.db.query<Counts, []>(`SELECT ${COUNTS} FROM llm_usage`).get();
    const zero = { requests: 0, promptTokens: 0, completionTokens: 0 };
    return { today: today ?? zero, total: total ?? zero };
  }

  close(): void {
    this.db.close();
  }
}
