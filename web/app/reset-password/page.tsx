import { Brand } from '@/components/Brand.tsx';
import { NewPasswordForm } from '@/components/AccountForms.tsx';
import { MIN_PASSWORD } from '@/lib/auth/routes.ts';

export const dynamic = 'force-dynamic';

/** Where a reset link leads once /auth/callback has signed the student in (proxy.ts keeps others out). */
export default function ResetPasswordPage() {
  return (
    <main className="login">
      <div className="login-card">
        <Brand />
        <h1>Choose a new password</h1>
        <NewPasswordForm minLength={MIN_PASSWORD} />
      </div>
    </main>
  );
}
