import type { Metadata } from 'next';
import { notFound, redirect } from 'next/navigation';
import { AdminApp } from '@/components/admin/AdminApp.tsx';
import { adminSettings, isAdmin } from '@/lib/admin/settings.ts';
import { currentUser } from '@/lib/auth/current.ts';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Administration · nanobot tutor' };

/** For ADMIN_EMAILS only; anyone else signed in gets the app's 404, as if there were no such page. */
export default async function AdminPage() {
  const user = await currentUser();
  if (!user) redirect('/login');
  if (!isAdmin(user, adminSettings())) notFound();
  return <AdminApp email={user.email} />;
}
