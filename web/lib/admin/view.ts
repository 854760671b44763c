/** What the admin page shows, as the gateway's admin API answers it, and the table's sorting and filtering (pure, for the browser). */

export type Failure = { reason: string; message: string; at: string };

export type AdminAgent = {
  userId: string;
  email: string;
  state: string;
  status: string;
  image: string;
  outdated: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  oomKilled: boolean;
  restarts: number;
  lastActivity: string | null;
  requestsInFlight: number;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  cpuPercent: number | null;
  lastFailure: Failure | null;
};

export type Counts = { requests: number; promptTokens: number; completionTokens: number };
export type Usage = { day: string; today: Counts; total: Counts; students: { userId: string; today: Counts; total: Counts }[] };
export type Health = { engine: { reachable: boolean; image: string; imagePresent: boolean }; disk: { path: string; freeBytes: number; totalBytes: number } | null };
export type LlmCheck = {
  configured: boolean;
  reachable: boolean;
  provider?: string;
  model?: string;
  apiBase?: string;
  keyConfigured?: boolean;
  status?: number;
  error?: string;
  latencyMs?: number;
};
export type WorkspaceFiles = { files: { path: string; bytes: number; modifiedAt: string }[]; truncated: boolean };

/** A row: the agent and the student's LLM tokens today (prompt + completion), when the relay has any. */
export type Row = AdminAgent & { tokensToday: number | null };

export const SORT_KEYS = ['email', 'state', 'lastActivity', 'memoryBytes', 'cpuPercent', 'outdated', 'restarts', 'tokensToday', 'lastFailure'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Sort = { key: SortKey; direction: 'ascending' | 'descending' };

export function rowsOf(agents: AdminAgent[], usage: Usage | undefined): Row[] {
  const tokens = new Map(usage?.students.map((s) => [s.userId, s.today.promptTokens + s.today.completionTokens]));
  return agents.map((a) => ({ ...a, tokensToday: tokens.get(a.userId) ?? (usage ? 0 : null) }));
}

function sortValue(row: Row, key: SortKey): string | number | null {
  switch (key) {
    case 'lastActivity':
      return row.lastActivity ? Date.parse(row.lastActivity) : null;
    case 'lastFailure':
      return row.lastFailure ? Date.parse(row.lastFailure.at) : null;
    case 'outdated':
      return row.outdated ? 1 : 0;
    default:
      return row[key];
  }
}

/** Empty values (no activity yet, a stopped tutor's memory) go last whichever way the column is sorted. */
export function sortRows(rows: Row[], { key, direction }: Sort): Row[] {
  const sign = direction === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x === null || y === null) return x === y ? a.email.localeCompare(b.email) : x === null ? 1 : -1;
    const order = typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y) : Number(x) - Number(y);
    return order * sign || a.email.localeCompare(b.email);
  });
}

/** `text` matches the email, the user id, the state or the last failure; `state` is one state or '' for all. */
export function filterRows(rows: Row[], text: string, state: string): Row[] {
  const needle = text.trim().toLowerCase();
  return rows.filter((row) => {
    if (state && row.state !== state) return false;
    if (!needle) return true;
    return [row.email, row.userId, row.state, row.lastFailure?.message ?? ''].some((value) => value.toLowerCase().includes(needle));
  });
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago"; a dash when never. */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}
