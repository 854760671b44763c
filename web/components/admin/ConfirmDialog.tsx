'use client';

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

export type Confirmation = {
  title: string;
  body: ReactNode;
  action: string;
  /** When set, the action stays disabled until exactly this text is typed. */
  typed?: string;
  danger?: boolean;
  run: () => Promise<void>;
};

/** A modal `<dialog>`: focus moves into it, Escape cancels, and the action runs once. */
export function ConfirmDialog({ confirmation, onClose }: { confirmation: Confirmation | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const titleId = useId();
  const inputId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (confirmation && !dialog.open) {
      setTyped('');
      setError(undefined);
      dialog.showModal();
    } else if (!confirmation && dialog.open) dialog.close();
  }, [confirmation]);

  async function confirm() {
    if (!confirmation) return;
    setBusy(true);
    setError(undefined);
    try {
      await confirmation.run();
      onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const blocked = busy || (confirmation?.typed !== undefined && typed !== confirmation.typed);
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={titleId} onClose={onClose}>
      {confirmation && (
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            if (!blocked) void confirm();
          }}
        >
          <h2 id={titleId}>{confirmation.title}</h2>
          <div className="confirm-body">{confirmation.body}</div>
          {confirmation.typed !== undefined && (
            <>
              <label htmlFor={inputId}>
                Type <code>{confirmation.typed}</code> to confirm
              </label>
              <input id={inputId} className="admin-input" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} />
            </>
          )}
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="confirm-actions">
            <button type="button" className="button button-ghost" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className={`button ${confirmation.danger ? 'button-danger' : 'button-primary'}`} disabled={blocked}>
              {confirmation.action}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
