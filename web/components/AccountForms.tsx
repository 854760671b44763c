'use client';

import { useEffect, useState, type FormEvent, type ReactNode } from 'react';

async function post(path: string, body: unknown): Promise<{ ok: boolean; json: { error?: string; confirm?: boolean } }> {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => null);
  if (!response) return { ok: false, json: { error: 'The app cannot be reached. Check your connection.' } };
  return { ok: response.ok, json: (await response.json().catch(() => ({}))) as { error?: string; confirm?: boolean } };
}

/** A field's text from the submitted form. */
const field = (data: FormData, name: string): string => String(data.get(name) ?? '');

/**
 * One small form: fields, a submit button, the error or the success note. The fields are read from
 * the form when it is sent, not from state, so what was typed before the page's script ran counts;
 * the button waits for that script, since a form sent before it would only reload the page.
 */
function Form({ onSubmit, busy, error, done, submit, children }: { onSubmit: (data: FormData) => Promise<void>; busy: boolean; error?: string; done?: string; submit: string; children: ReactNode }) {
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  return (
    <form
      className="login-form"
      onSubmit={(event: FormEvent<HTMLFormElement>) => {
        event.preventDefault();
        void onSubmit(new FormData(event.currentTarget));
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
      <button type="submit" className="button button-primary" disabled={!ready || busy || Boolean(done)}>
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

function PasswordFields({ minLength }: { minLength: number }) {
  return (
    <>
      <label htmlFor="new-password">New password</label>
      <input id="new-password" name="password" type="password" autoComplete="new-password" required minLength={minLength} />
      <p className="field-hint">At least {minLength} characters.</p>
      <label htmlFor="repeat-password">Repeat the password</label>
      <input id="repeat-password" name="repeated" type="password" autoComplete="new-password" required />
    </>
  );
}

const EmailField = () => (
  <>
    <label htmlFor="email">Email</label>
    <input id="email" name="email" type="email" autoComplete="email" required autoFocus />
  </>
);

export function SignUpForm({ minLength }: { minLength: number }) {
  const form = useSubmit();
  async function submit(data: FormData) {
    const [email, password] = [field(data, 'email'), field(data, 'password')];
    if (password !== field(data, 'repeated')) return form.setError('The two passwords are not the same.');
    await form.run('/api/auth/signup', { email, password }, (json) => {
      if (json.confirm) form.setDone(`Check your inbox: we sent a confirmation link to ${email}.`);
      else window.location.assign('/');
    });
  }
  return (
    <Form onSubmit={submit} busy={form.busy} error={form.error} done={form.done} submit="Create account">
      <EmailField />
      <PasswordFields minLength={minLength} />
    </Form>
  );
}

export function ForgotPasswordForm() {
  const form = useSubmit();
  async function submit(data: FormData) {
    const email = field(data, 'email');
    await form.run('/api/auth/password-reset', { email }, () => form.setDone(`If there is an account for ${email}, a reset link is on its way.`));
  }
  return (
    <Form onSubmit={submit} busy={form.busy} error={form.error} done={form.done} submit="Email me a reset link">
      <EmailField />
    </Form>
  );
}

export function NewPasswordForm({ minLength }: { minLength: number }) {
  const form = useSubmit();
  async function submit(data: FormData) {
    const password = field(data, 'password');
    if (password !== field(data, 'repeated')) return form.setError('The two passwords are not the same.');
    await form.run('/api/auth/password', { password }, () => window.location.assign('/'));
  }
  return (
    <Form onSubmit={submit} busy={form.busy} error={form.error} submit="Save the new password">
      <PasswordFields minLength={minLength} />
    </Form>
  );
}
