import { redirect } from 'next/navigation';
import { TutorApp } from '@/components/TutorApp.tsx';
import { adminSettings, isAdmin } from '@/lib/admin/settings.ts';
import { currentUser } from '@/lib/auth/current.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const user = await currentUser();
  if (!user) redirect('/login');
  return <TutorApp email={user.email} localAuth={authMode().kind === 'shared'} admin={isAdmin(user, adminSettings())} />;
}
