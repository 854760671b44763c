'use client';

import { formatAgo, formatBytes, type Row, type Sort, type SortKey } from '@/lib/admin/view.ts';

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'email', label: 'Student' },
  { key: 'state', label: 'State' },
  { key: 'lastActivity', label: 'Last activity' },
  { key: 'memoryBytes', label: 'Memory' },
  { key: 'cpuPercent', label: 'CPU' },
  { key: 'outdated', label: 'Image' },
  { key: 'restarts', label: 'Restarts' },
  { key: 'tokensToday', label: 'Tokens today' },
  { key: 'lastFailure', label: 'Last failure' },
];

type Props = {
  rows: Row[];
  sort: Sort;
  onSort: (key: SortKey) => void;
  onDetails: (row: Row) => void;
  onStop: (row: Row) => void;
  onRestart: (row: Row) => void;
  onRemove: (row: Row) => void;
  now: number;
};

/** Stopping states: what a stop button would do nothing for. */
const NOT_RUNNING = new Set(['stopped', 'stopping', 'exited', 'created', 'dead']);

export function AgentsTable({ rows, sort, onSort, onDetails, onStop, onRestart, onRemove, now }: Props) {
  return (
    <div className="table-scroll" role="region" aria-label="Tutors" tabIndex={0}>
      <table className="admin-table">
        <thead>
          <tr>
            {COLUMNS.map(({ key, label }) => (
              <th key={key} scope="col" aria-sort={sort.key === key ? sort.direction : 'none'}>
                <button type="button" className="sort-button" onClick={() => onSort(key)}>
                  {label}
                  <span aria-hidden="true" className="sort-mark">
                    {sort.key === key ? (sort.direction === 'ascending' ? '▲' : '▼') : '↕'}
                  </span>
                </button>
              </th>
            ))}
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.userId} data-user-id={row.userId}>
              <td>
                <div className="student-email">{row.email}</div>
                <div className="student-id">{row.userId}</div>
              </td>
              <td>
                <span className={`state state-${row.state}`} data-testid="state">
                  {row.state}
                </span>
              </td>
              <td>
                <span title={row.lastActivity ?? undefined}>{formatAgo(row.lastActivity, now)}</span>
                {row.requestsInFlight > 0 && <div className="student-id">{row.requestsInFlight} in flight</div>}
              </td>
              <td>{formatBytes(row.memoryBytes)}</td>
              <td>{row.cpuPercent === null ? '—' : `${row.cpuPercent} %`}</td>
              <td>{row.outdated ? <span className="badge">outdated</span> : 'current'}</td>
              <td>{row.restarts}</td>
              <td>{row.tokensToday === null ? '—' : row.tokensToday.toLocaleString('en')}</td>
              <td className="failure-cell">
                {row.lastFailure ? (
                  <span className="failure" title={`${row.lastFailure.reason} at ${row.lastFailure.at}`}>
                    {row.lastFailure.reason}: {row.lastFailure.message}
                  </span>
                ) : (
                  '—'
                )}
              </td>
              <td>
                <div className="row-actions">
                  <button type="button" className="button button-small" aria-label={`Details of ${row.email}`} onClick={() => onDetails(row)}>
                    Details
                  </button>
                  <button type="button" className="button button-small" aria-label={`Stop the tutor of ${row.email}`} disabled={NOT_RUNNING.has(row.state)} onClick={() => onStop(row)}>
                    Stop
                  </button>
                  <button type="button" className="button button-small" aria-label={`Restart the tutor of ${row.email}`} onClick={() => onRestart(row)}>
                    Restart
                  </button>
                  <button type="button" className="button button-small" aria-label={`Remove the container of ${row.email}`} onClick={() => onRemove(row)}>
                    Remove
                  </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
