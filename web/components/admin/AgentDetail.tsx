'use client';

import { useCallback, useEffect, useState } from 'react';
import { adminCall } from '@/lib/admin/client.ts';
import { formatBytes, type AdminAgent, type Row, type WorkspaceFiles } from '@/lib/admin/view.ts';

type Props = { row: Row; onClose: () => void; onDelete: (row: Row) => void };

/** One student's tutor: its facts, the last lines of its output (secrets masked by the gateway) and the student's files. */
export function AgentDetail({ row, onClose, onDelete }: Props) {
  const [log, setLog] = useState<string[]>();
  const [files, setFiles] = useState<WorkspaceFiles>();
  const [error, setError] = useState<string>();

  const load = useCallback(async () => {
    setError(undefined);
    const [detail, listed] = await Promise.allSettled([
      adminCall<{ agent: AdminAgent; log: string[] }>(`agents/${row.userId}`),
      adminCall<WorkspaceFiles>(`users/${row.userId}/files`),
    ]);
    if (detail.status === 'fulfilled') setLog(detail.value.log);
    else setError(detail.reason instanceof Error ? detail.reason.message : String(detail.reason));
    setFiles(listed.status === 'fulfilled' ? listed.value : { files: [], truncated: false });
  }, [row.userId]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="card detail" aria-labelledby="detail-title">
      <div className="card-head">
        <h2 id="detail-title">Tutor of {row.email}</h2>
        <div className="row-actions">
          <button type="button" className="button button-small" onClick={() => void load()}>
            Refresh log
          </button>
          <button type="button" className="button button-small" onClick={onClose}>
            Close details
          </button>
        </div>
      </div>
      <dl className="detail-facts">
        <dt>User id</dt>
        <dd>
          <code>{row.userId}</code>
        </dd>
        <dt>Container</dt>
        <dd>
          {row.status}
          {row.exitCode !== null && `, exit code ${row.exitCode}`}
          {row.oomKilled && ', killed for memory'}
        </dd>
        <dt>Image</dt>
        <dd>
          {row.image}
          {row.outdated && ' (outdated: replaced on the next request)'}
        </dd>
        <dt>Created</dt>
        <dd>{row.createdAt}</dd>
        <dt>Started</dt>
        <dd>{row.startedAt ?? '—'}</dd>
        <dt>Memory</dt>
        <dd>
          {formatBytes(row.memoryBytes)}
          {row.memoryLimitBytes !== null && ` of ${formatBytes(row.memoryLimitBytes)}`}
        </dd>
        <dt>Last failure</dt>
        <dd>{row.lastFailure ? `${row.lastFailure.reason} at ${row.lastFailure.at}: ${row.lastFailure.message}` : '—'}</dd>
      </dl>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <h3>Log tail</h3>
      <pre className="log-tail" role="region" aria-label={`Log of the tutor of ${row.email}`} tabIndex={0}>
        {log === undefined ? 'Loading…' : log.length === 0 ? '(no output)' : log.join('\n')}
      </pre>
      <h3>Files</h3>
      {files === undefined ? (
        <p className="muted">Loading…</p>
      ) : files.files.length === 0 ? (
        <p className="muted">No files in the workspace.</p>
      ) : (
        <ul className="admin-files" aria-label={`Files of ${row.email}`}>
          {files.files.map((file) => (
            <li key={file.path}>
              <code>{file.path}</code> <span className="student-id">{formatBytes(file.bytes)}, {file.modifiedAt.slice(0, 16).replace('T', ' ')} UTC</span>
            </li>
          ))}
        </ul>
      )}
      {files?.truncated && <p className="muted">Only the first 1,000 files are listed.</p>}
      <p className="muted">Files are listed only; the student downloads and exports their own from the app.</p>
      <div className="danger-zone">
        <button type="button" className="button button-danger" onClick={() => onDelete(row)}>
          Delete student…
        </button>
      </div>
    </section>
  );
}
