'use client';

import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { ApiError, getJson, uploadFiles } from '@/lib/client/api.ts';

const MAX_FILE_BYTES = 5 * 1024 * 1024;

type Upload = { names: string[]; progress: number };

function splitPath(path: string): { folder: string; name: string } {
  const index = path.lastIndexOf('/');
  return index < 0 ? { folder: '', name: path } : { folder: path.slice(0, index), name: path.slice(index + 1) };
}

/** The tutor's workspace: what the student uploaded and what the tutor wrote, with upload and download. */
type Props = { initialFiles: string[] | null; version: number; onChanged: () => void };

export function FilesPanel({ initialFiles, version, onChanged }: Props) {
  const [files, setFiles] = useState<string[] | null>(() => (initialFiles ? [...initialFiles].sort() : null));
  const loaded = useRef(initialFiles !== null);
  const [error, setError] = useState<string>();
  const [upload, setUpload] = useState<Upload | null>(null);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  const load = useCallback(async () => {
    try {
      const body = await getJson<{ files: string[] }>('/api/files');
      setFiles([...body.files].sort());
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 'starting')) setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    // The first listing came with the sessions; later ones follow answers and uploads.
    if (loaded.current) {
      loaded.current = false;
      return;
    }
    void load();
  }, [load, version]);

  async function send(list: File[]) {
    if (list.length === 0) return;
    setError(undefined);
    const tooLarge = list.filter((f) => f.size > MAX_FILE_BYTES);
    if (tooLarge.length > 0) {
      setError(`${tooLarge.map((f) => f.name).join(', ')}: larger than 5 MB, not uploaded.`);
      list = list.filter((f) => f.size <= MAX_FILE_BYTES);
      if (list.length === 0) return;
    }
    setUpload({ names: list.map((f) => f.name), progress: 0 });
    try {
      await uploadFiles(list, (progress) => setUpload((u) => (u ? { ...u, progress } : u)));
      await load();
      onChanged();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setUpload(null);
      if (picker.current) picker.current.value = '';
    }
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void send(Array.from(event.dataTransfer.files));
  }

  const uploaded = files?.filter((f) => !f.startsWith('memory/')) ?? [];

  return (
    <section className="card files" aria-labelledby="files-heading">
      <div className="card-head">
        <h2 id="files-heading">Files</h2>
        <button type="button" className="icon-button" onClick={() => void load()} aria-label="Refresh files" title="Refresh">
          <svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14">
            <path d="M13 8a5 5 0 1 1-1.5-3.5M13 2.5V5h-2.5" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </button>
      </div>
      <div
        className={`dropzone${dragging ? ' dropzone-active' : ''}`}
        onDragOver={(e) => (e.preventDefault(), setDragging(true))}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          ref={picker}
          id="upload-input"
          className="visually-hidden"
          type="file"
          multiple
          aria-label="Upload files"
          onChange={(e) => void send(Array.from(e.target.files ?? []))}
        />
        <label htmlFor="upload-input" className="button button-small">
          Choose files
        </label>
        <span className="dropzone-hint">or drop them here · up to 5 MB each</span>
      </div>
      {upload && (
        <div className="upload-progress" role="status">
          <span>Uploading {upload.names.join(', ')}</span>
          <div className="progress" role="progressbar" aria-label="Upload progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(upload.progress * 100)}>
            <div className="progress-bar" style={{ width: `${Math.round(upload.progress * 100)}%` }} />
          </div>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {files === null ? (
        <p className="muted">Loading…</p>
      ) : uploaded.length === 0 ? (
        <p className="muted">No files yet. Upload notes, exercises or papers and ask your tutor about them.</p>
      ) : (
        <ul className="file-list">
          {uploaded.map((path) => {
            const { folder, name } = splitPath(path);
            return (
              <li key={path}>
                <a href={`/api/files?path=${encodeURIComponent(path)}`} download={name} title={`Download ${path}`}>
                  <span className="file-name">{name}</span>
                  {folder && <span className="file-folder">{folder}</span>}
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
