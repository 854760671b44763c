'use client';

import { useState, type FormEvent } from 'react';

type Props = { token: string; email: string; minLength: number };

/** Sets the password of an invited account; on success the student is signed in. */
export function InviteForm({ token, email, minLength }: Props) {
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== repeated) return setError('The two passwords are not the same.');
    setBusy(true);
    setError(undefined);
    const response = await fetch('/api/auth/invite', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token, password }) }).catch(
      () => null,
    );
    if (response?.ok) {
      window.location.assign('/');
      return;
    }
    const body = (await response?.json().catch(() => ({}))) as { error?: string } | undefined;
    setBusy(false);
    setError(body?.error ?? 'The app cannot be reached. Check your connection.');
  }

  return (
    <form className="login-form" onSubmit={submit} aria-describedby={error ? 'invite-error' : undefined}>
      <input type="email" name="email" autoComplete="username" value={email} readOnly hidden />
      <label htmlFor="new-password">New password</label>
      <input
        id="new-password"
        type="password"
        autoComplete="new-password"
        required
        minLength={minLength}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        aria-describedby="password-rule"
        autoFocus
      />
      <p className="field-hint" id="password-rule">
        At least {minLength} characters. A few unrelated words make a good one.
      </p>
      <label htmlFor="repeat-password">Repeat the password</label>
      <input id="repeat-password" type="password" autoComplete="new-password" required value={repeated} onChange={(e) => setRepeated(e.target.value)} />
      {error && (
        <p className="form-error" id="invite-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={busy}>
        {busy ? 'Saving…' : 'Set password and sign in'}
      </button>
    </form>
  );
}
