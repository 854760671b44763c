import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { Brand } from '@/components/Brand.tsx';
import { InviteForm } from '@/components/InviteForm.tsx';
import { clientAddress } from '@/lib/auth/accounts.ts';
import { lookUpInvite, MIN_PASSWORD } from '@/lib/auth/routes.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
// The invite token is in this page's address: never hand it to another site as a Referer.
export const metadata: Metadata = { referrer: 'no-referrer', robots: { index: false } };

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const requestHeaders = await headers();
  const invite = await lookUpInvite(token, clientAddress(new Request('http://invite.local', { headers: requestHeaders })), authMode());
  return (
    <main className="login">
      <div className="login-card">
        <Brand />
        <h1>Set your password</h1>
        {'email' in invite ? (
          <>
            <p className="login-lead">
              Choose the password you will sign in with as <strong>{invite.email}</strong>. This link works once.
            </p>
            <InviteForm token={token} email={invite.email} minLength={MIN_PASSWORD} />
          </>
        ) : (
          <>
            <p className="notice notice-error" role="alert">{invite.error}</p>
            <p>
              <a href="/login">Go to sign-in</a>
            </p>
          </>
        )}
      </div>
    </main>
  );
}
