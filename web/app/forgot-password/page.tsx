import { Brand } from '@/components/Brand.tsx';
import { ForgotPasswordForm } from '@/components/AccountForms.tsx';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';

export default function ForgotPasswordPage() {
  return (
    <main className="login">
      <div className="login-card">
        <Brand />
        <h1>Reset your password</h1>
        {authMode().kind === 'supabase' ? (
          <ForgotPasswordForm />
        ) : (
          <p className="notice">Ask your teacher for a new invite link: it lets you choose a new password.</p>
        )}
        <p className="login-links">
          <a href="/login">Back to sign-in</a>
        </p>
      </div>
    </main>
  );
}
