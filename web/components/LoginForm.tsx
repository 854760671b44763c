'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';

type Props = { mode: 'accounts' | 'shared' | 'supabase'; initialError?: string };

async function post(path: string, body: unknown): Promise<{ ok: boolean; error?: string }> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => ({}))) as { error?: string };
  return { ok: response.ok, error: json.error ?? (response.ok ? undefined : 'Sign-in failed. Please try again.') };
}

export function LoginForm({ mode, initialError }: Props) {
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(initialError);
  const [linkSent, setLinkSent] = useState(false);
  // Until the page's script runs, sending would submit the form natively: a GET with the password in
  // the address. The buttons wait for it, and what was typed before it is read from the fields.
  const [ready, setReady] = useState(false);
  const emailField = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setEmail(emailField.current?.value ?? '');
    setReady(true);
  }, []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setBusy(true);
    setError(undefined);
    const result = await post('/api/auth/login', { email: String(data.get('email') ?? ''), password: String(data.get('password') ?? '') }).catch(() => ({ ok: false, error: 'The app cannot be reached. Check your connection.' }));
    if (result.ok) {
      router.replace('/');
      router.refresh();
      return;
    }
    setBusy(false);
    setError(result.error);
  }

  async function sendLink() {
    setBusy(true);
    setError(undefined);
    const result = await post('/api/auth/magic-link', { email }).catch(() => ({ ok: false, error: 'The app cannot be reached.' }));
    setBusy(false);
    if (result.ok) setLinkSent(true);
    else setError(result.error);
  }

  return (
    <form className="login-form" onSubmit={submit} aria-describedby={error ? 'login-error' : undefined}>
      <label htmlFor="email">Email</label>
      <input id="email" name="email" type="email" autoComplete="email" required ref={emailField} onChange={(e) => setEmail(e.target.value)} autoFocus />
      <label htmlFor="password">Password</label>
      <input
        id="password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
      />
      {error && (
        <p className="form-error" id="login-error" role="alert">
          {error}
        </p>
      )}
      {linkSent && (
        <p className="notice" role="status">
          Check your inbox: we sent a sign-in link to {email}.
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={!ready || busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {mode === 'supabase' && (
        <>
          <button type="button" className="button button-ghost" disabled={!ready || busy || !email} onClick={sendLink}>
            Email me a sign-in link
          </button>
          <a className="button button-ghost" href="/api/auth/oauth?provider=google">
            Continue with Google
          </a>
          <p className="login-links">
            <a href="/signup">Create an account</a> · <a href="/forgot-password">Forgot your password?</a>
          </p>
        </>
      )}
    </form>
  );
}
