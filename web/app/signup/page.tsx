import { Brand } from '@/components/Brand.tsx';
import { SignUpForm } from '@/components/AccountForms.tsx';
import { MIN_PASSWORD } from '@/lib/auth/routes.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';

export default function SignUpPage() {
  return (
    <main className="login">
      <div className="login-card">
        <Brand />
        <h1>Create your account</h1>
        {authMode().kind === 'supabase' ? (
          <SignUpForm minLength={MIN_PASSWORD} />
        ) : (
          <p className="notice">Here your teacher creates the accounts: ask them for an invite link.</p>
        )}
        <p className="login-links">
          <a href="/login">Back to sign-in</a>
        </p>
      </div>
    </main>
  );
}
