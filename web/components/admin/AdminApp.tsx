'use client';

import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { adminCall } from '@/lib/admin/client.ts';
import { filterRows, rowsOf, sortRows, type AdminAgent, type Health, type LlmCheck, type Row, type Sort, type SortKey, type Usage } from '@/lib/admin/view.ts';
import { Brand } from '../Brand.tsx';
import { AgentDetail } from './AgentDetail.tsx';
import { AgentsTable } from './AgentsTable.tsx';
import { ConfirmDialog, type Confirmation } from './ConfirmDialog.tsx';
import { HealthPanel } from './HealthPanel.tsx';

/** The table and health are read again this often: "live" without a stream to keep open. */
const POLL_MS = 3_000;

export function AdminApp({ email }: { email: string }) {
  const [agents, setAgents] = useState<AdminAgent[]>();
  const [usage, setUsage] = useState<Usage>();
  const [health, setHealth] = useState<Health>();
  const [llm, setLlm] = useState<LlmCheck>();
  const [llmChecking, setLlmChecking] = useState(false);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [text, setText] = useState('');
  const [state, setState] = useState('');
  const [sort, setSort] = useState<Sort>({ key: 'email', direction: 'ascending' });
  const [selected, setSelected] = useState<string>();
  const [confirmation, setConfirmation] = useState<Confirmation | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const filterId = useId();
  const stateId = useId();

  const refresh = useCallback(async () => {
    const [listed, used, healthy] = await Promise.allSettled([
      adminCall<{ agents: AdminAgent[] }>('agents'),
      adminCall<Usage>('usage'),
      adminCall<Health>('health'),
    ]);
    if (listed.status === 'fulfilled') {
      setAgents(listed.value.agents);
      setError(undefined);
    } else setError(listed.reason instanceof Error ? listed.reason.message : String(listed.reason));
    if (used.status === 'fulfilled') setUsage(used.value);
    if (healthy.status === 'fulfilled') setHealth(healthy.value);
    setNow(Date.now());
  }, []);

  /** One token of the school's budget per call: run once on opening and on request, never by the poll. */
  const checkLlm = useCallback(async () => {
    setLlmChecking(true);
    try {
      setLlm(await adminCall<LlmCheck>('llm'));
    } catch (err) {
      setLlm({ configured: false, reachable: false, error: err instanceof Error ? err.message : String(err) });
    } finally {
      setLlmChecking(false);
    }
  }, []);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      await refresh();
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    void checkLlm();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [refresh, checkLlm]);

  const rows = useMemo(() => rowsOf(agents ?? [], usage), [agents, usage]);
  const shown = useMemo(() => sortRows(filterRows(rows, text, state), sort), [rows, text, state, sort]);
  const states = useMemo(() => [...new Set(rows.map((r) => r.state))].sort(), [rows]);
  const detail = rows.find((r) => r.userId === selected);

  function onSort(key: SortKey) {
    setSort((s) => ({ key, direction: s.key === key && s.direction === 'ascending' ? 'descending' : 'ascending' }));
  }

  function ask(confirm: Omit<Confirmation, 'run'>, call: () => Promise<unknown>, done: string) {
    setConfirmation({
      ...confirm,
      run: async () => {
        await call();
        setNotice(done);
        await refresh();
      },
    });
  }

  const onStop = (row: Row) =>
    ask(
      { title: `Stop the tutor of ${row.email}?`, body: <p>An answer in progress is cut off. The student&rsquo;s data stays; their next request starts the tutor again.</p>, action: 'Stop tutor' },
      () => adminCall(`agents/${row.userId}/stop`, { method: 'POST' }),
      `Stopped the tutor of ${row.email}.`,
    );
  const onRestart = (row: Row) =>
    ask(
      { title: `Restart the tutor of ${row.email}?`, body: <p>It is stopped and started again; an answer in progress is cut off. The student&rsquo;s data stays.</p>, action: 'Restart tutor' },
      () => adminCall(`agents/${row.userId}/restart`, { method: 'POST' }),
      `Restarting the tutor of ${row.email}.`,
    );
  const onRemove = (row: Row) =>
    ask(
      { title: `Remove the container of ${row.email}?`, body: <p>The container goes; the student&rsquo;s data folder stays, and their next request creates a new container from the current image.</p>, action: 'Remove container', danger: true },
      () => adminCall(`agents/${row.userId}`, { method: 'DELETE' }),
      `Removed the container of ${row.email}; the data was kept.`,
    );
  const onDelete = (row: Row) =>
    ask(
      {
        title: `Delete the student ${row.email}?`,
        body: (
          <p>
            Their tutor is removed and their data folder is moved to <code>data/.deleted/</code>, where it is kept for <code>DELETED_RETENTION</code> (7 days unless
            set otherwise) and can be moved back to undo this. After that it is purged. Their account is not touched: disable it with{' '}
            <code>bun run students disable</code>.
          </p>
        ),
        action: 'Delete student',
        typed: row.userId,
        danger: true,
      },
      async () => {
        await adminCall(`users/${row.userId}?confirm=${encodeURIComponent(row.userId)}`, { method: 'DELETE' });
        setSelected(undefined);
      },
      `Deleted ${row.email}: the data folder is in data/.deleted/ for DELETED_RETENTION.`,
    );

  return (
    <div className="admin">
      <a className="skip-link" href="#admin-main">
        Skip to the tutors
      </a>
      <header className="topbar">
        <Brand />
        <div className="topbar-right">
          <span className="badge">Administration</span>
          <span className="user-email" title="Signed in as">
            {email}
          </span>
          <a className="button button-ghost" href="/">
            Your tutor
          </a>
        </div>
      </header>
      <main id="admin-main" className="admin-main">
        <h1 className="admin-title">Students and their tutors</h1>
        <HealthPanel health={health} llm={llm} llmChecking={llmChecking} usage={usage} onCheckLlm={() => void checkLlm()} />
        <section className="card" aria-labelledby="tutors-title">
          <div className="card-head">
            <h2 id="tutors-title">Tutors</h2>
            <p className="muted live-note">
              {agents ? `${shown.length} of ${rows.length} shown` : 'Loading…'} · updated every {POLL_MS / 1000} s
            </p>
          </div>
          <div className="admin-filters">
            <label htmlFor={filterId}>Filter</label>
            <input id={filterId} className="admin-input" type="search" value={text} placeholder="email, user id, failure…" onChange={(e) => setText(e.target.value)} />
            <label htmlFor={stateId}>State</label>
            <select id={stateId} className="admin-input" value={state} onChange={(e) => setState(e.target.value)}>
              <option value="">All states</option>
              {states.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div role="status" aria-live="polite" className="admin-status">
            {notice}
          </div>
          {error && (
            <p className="notice notice-error" role="alert">
              {error}
            </p>
          )}
          {agents && rows.length === 0 ? (
            <p className="muted">No tutor has been started yet.</p>
          ) : (
            <AgentsTable rows={shown} sort={sort} onSort={onSort} onDetails={(r) => setSelected(r.userId)} onStop={onStop} onRestart={onRestart} onRemove={onRemove} now={now} />
          )}
        </section>
        {detail && <AgentDetail key={detail.userId} row={detail} onClose={() => setSelected(undefined)} onDelete={onDelete} />}
      </main>
      <ConfirmDialog confirmation={confirmation} onClose={() => setConfirmation(null)} />
    </div>
  );
}
