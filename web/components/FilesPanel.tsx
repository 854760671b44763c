'use client';

import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { MAX_FILE_BYTES, MAX_FILE_LABEL, type Capabilities } from '@/lib/api/shared.ts';
import { ApiError, getJson, sendJson, uploadFiles } from '@/lib/client/api.ts';
import { fileUrl, isOwnFile, previewKindOf, splitPath, type PreviewKind } from '@/lib/client/files.ts';

type Upload = { names: string[]; progress: number };
type Preview = { path: string; kind: PreviewKind };

const FOLDER_LABELS: Record<string, string> = { files_uploaded: 'Uploaded', notes: 'Notes from your tutor' };

/** The student's own files (uploads and the tutor's notes): upload, download, preview, rename, delete, export. */
type Props = { initialFiles: string[] | null; version: number; onChanged: () => void; capabilities: Capabilities };

export function FilesPanel({ initialFiles, version, onChanged, capabilities }: Props) {
  const [files, setFiles] = useState<string[] | null>(() => (initialFiles ? [...initialFiles].sort() : null));
  const loaded = useRef(initialFiles !== null);
  const [error, setError] = useState<string>();
  const [upload, setUpload] = useState<Upload | null>(null);
  const [dragging, setDragging] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const dialog = useRef<HTMLDialogElement>(null);

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

  useEffect(() => {
    if (preview && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [preview]);

  async function send(list: File[]) {
    if (list.length === 0) return;
    setError(undefined);
    const tooLarge = list.filter((f) => f.size > MAX_FILE_BYTES);
    if (tooLarge.length > 0) {
      setError(`${tooLarge.map((f) => f.name).join(', ')}: larger than ${MAX_FILE_LABEL}, not uploaded.`);
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

  async function change(action: () => Promise<unknown>) {
    setError(undefined);
    try {
      await action();
      await load();
      onChanged();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  function rename(path: string) {
    const { name } = splitPath(path);
    const next = window.prompt(`New name for ${name}`, name)?.trim();
    if (!next || next === name) return;
    void change(() => sendJson(`/api/files?path=${encodeURIComponent(path)}`, 'PATCH', { name: next }));
  }

  function remove(path: string) {
    const { name } = splitPath(path);
    if (!window.confirm(`Delete ${name}? It is removed from your tutor’s workspace for good.`)) return;
    void change(() => sendJson(`/api/files?path=${encodeURIComponent(path)}`, 'DELETE'));
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void send(Array.from(event.dataTransfer.files));
  }

  const own = files?.filter(isOwnFile) ?? [];

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
        <span className="dropzone-hint">or drop them here · up to {MAX_FILE_LABEL} each</span>
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
      ) : own.length === 0 ? (
        <p className="muted">No files yet. Upload notes, exercises or papers and ask your tutor about them.</p>
      ) : (
        <ul className="file-list">
          {own.map((path) => {
            const { folder, name } = splitPath(path);
            const kind = capabilities.downloads ? previewKindOf(path) : undefined;
            return (
              <li key={path} className="file">
                {capabilities.downloads ? (
                  <a className="file-main" href={fileUrl(path)} download={name} title={`Download ${path}`}>
                    <span className="file-name">{name}</span>
                    <span className="file-folder">{FOLDER_LABELS[folder] ?? folder}</span>
                  </a>
                ) : (
                  <span className="file-main">
                    <span className="file-name">{name}</span>
                    <span className="file-folder">{FOLDER_LABELS[folder] ?? folder}</span>
                  </span>
                )}
                <span className="file-actions">
                  {kind && (
                    <button type="button" className="link-button" aria-label={`Preview ${name}`} onClick={() => setPreview({ path, kind })}>
                      Preview
                    </button>
                  )}
                  {capabilities.manageFiles && (
                    <>
                      <button type="button" className="link-button" aria-label={`Rename ${name}`} onClick={() => rename(path)}>
                        Rename
                      </button>
                      <button type="button" className="link-button link-danger" aria-label={`Delete ${name}`} onClick={() => remove(path)}>
                        Delete
                      </button>
                    </>
                  )}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {capabilities.export && (
        <p className="export">
          <a href="/api/export" download="tutor-export.zip">
            Export everything (.zip)
          </a>
          <span className="muted"> chats, memory and files</span>
        </p>
      )}
      {preview && (
        <dialog ref={dialog} className="preview" aria-label={`Preview of ${splitPath(preview.path).name}`} onClose={() => setPreview(null)}>
          <div className="preview-head">
            <span className="file-name">{splitPath(preview.path).name}</span>
            <button type="button" className="button button-small" onClick={() => dialog.current?.close()}>
              Close
            </button>
          </div>
          {preview.kind === 'image' ? (
            <img src={fileUrl(preview.path, true)} alt={splitPath(preview.path).name} />
          ) : (
            <iframe src={fileUrl(preview.path, true)} title={splitPath(preview.path).name} />
          )}
        </dialog>
      )}
    </section>
  );
}
