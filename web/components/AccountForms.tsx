'use client';

import { useState, type FormEvent, type ReactNode } from 'react';

async function post(path: string, body: unknown): Promise<{ ok: boolean; json: { error?: string; confirm?: boolean } }> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => null);
  if (!response) return { ok: false, json: { error: 'The app cannot be reached. Check your connection.' } };
  return { ok: response.ok, json: (await response.json().catch(() => ({}))) as { error?: string; confirm?: boolean } };
}

/** One small form: fields, a submit button, the error or the success note. */
function Form({ onSubmit, busy, error, done, submit, children }: { onSubmit: () => Promise<void>; busy: boolean; error?: string; done?: string; submit: string; children: ReactNode }) {
  return (
    <form
      className="login-form"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        void onSubmit();
      }}
    >
      {children}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p className="notice" role="status">
          {done}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={busy || Boolean(done)}>
        {submit}
      </button>
    </form>
  );
}

function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  async function run(path: string, body: unknown, onOk: (json: { confirm?: boolean }) => void) {
    setBusy(true);
    setError(undefined);
    const { ok, json } = await post(path, body);
    setBusy(false);
    if (ok) onOk(json);
    else setError(json.error ?? 'That did not work. Please try again.');
  }
  return { busy, error, done, setDone, setError, run };
}

function PasswordFields({ password, setPassword, repeated, setRepeated, minLength }: { password: string; setPassword: (v: string) => void; repeated: string; setRepeated: (v: string) => void; minLength: number }) {
  return (
    <>
      <label htmlFor="new-password">New password</label>
      <input id="new-password" type="password" autoComplete="new-password" required minLength={minLength} value={password} onChange={(e) => setPassword(e.target.value)} />
      <p className="field-hint">At least {minLength} characters.</p>
      <label htmlFor="repeat-password">Repeat the password</label>
      <input id="repeat-password" type="password" autoComplete="new-password" required value={repeated} onChange={(e) => setRepeated(e.target.value)} />
    </>
  );
}

export function SignUpForm({ minLength }: { minLength: number }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const form = useSubmit();
  async function submit() {
    if (password !== repeated) return form.setError('The two passwords are not the same.');
    await form.run('/api/auth/signup', { email, password }, (json) => {
      if (json.confirm) form.setDone(`Check your inbox: we sent a confirmation link to ${email}.`);
      else window.location.assign('/');
    });
  }
  return (
    <Form onSubmit={submit} busy={form.busy} error={form.error} done={form.done} submit="Create account">
      <label htmlFor="email">Email</label>
      <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
      <PasswordFields password={password} setPassword={setPassword} repeated={repeated} setRepeated={setRepeated} minLength={minLength} />
    </Form>
  );
}

export function ForgotPasswordForm() {
  const [email, setEmail] = useState('');
  const form = useSubmit();
  return (
    <Form
      onSubmit={() => form.run('/api/auth/password-reset', { email }, () => form.setDone(`If there is an account for ${email}, a reset link is on its way.`))}
      busy={form.busy}
      error={form.error}
      done={form.done}
      submit="Email me a reset link"
    >
      <label htmlFor="email">Email</label>
      <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
    </Form>
  );
}

export function NewPasswordForm({ minLength }: { minLength: number }) {
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const form = useSubmit();
  async function submit() {
    if (password !== repeated) return form.setError('The two passwords are not the same.');
    await form.run('/api/auth/password', { password }, () => window.location.assign('/'));
  }
  return (
    <Form onSubmit={submit} busy={form.busy} error={form.error} submit="Save the new password">
      <PasswordFields password={password} setPassword={setPassword} repeated={repeated} setRepeated={setRepeated} minLength={minLength} />
    </Form>
  );
}
