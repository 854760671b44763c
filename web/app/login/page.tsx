import { redirect } from 'next/navigation';
import { LoginForm } from '@/components/LoginForm.tsx';
import { Brand } from '@/components/Brand.tsx';
import { currentUser } from '@/lib/auth/current.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';

const LOGIN_ERRORS: Record<string, string> = {
  link: 'That sign-in link is invalid or has expired.',
  provider: 'Signing in with that provider did not work. Please try again.',
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  if (await currentUser()) redirect('/');
  const mode = authMode();
  const { error } = await searchParams;
  return (
    <main className="login">
      <div className="login-card">
        <Brand />
        <h1>Sign in to your tutor</h1>
        <p className="login-lead">Your own tutor remembers what you worked on, keeps your files and explains step by step.</p>
        {mode.kind === 'disabled' ? (
          <p className="notice notice-error" role="alert">{mode.reason}</p>
        ) : (
          <LoginForm mode={mode.kind} initialError={LOGIN_ERRORS[error ?? '']} />
        )}
        {mode.kind === 'accounts' && (
          <p className="notice" id="local-auth-note">
            New here, or forgot your password? Ask your teacher for an invite link: it lets you choose your password.
          </p>
        )}
        {mode.kind === 'shared' && (
          <p className="notice" id="local-auth-note">
            <strong>Local sign-in is on.</strong> Use your email and the shared password that <code>bun run setup</code> printed.
            Anyone with that password can sign in, so keep it to people you trust.
          </p>
        )}
      </div>
    </main>
  );
}
