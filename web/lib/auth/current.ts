import { cookies } from 'next/headers';
import { resolveUser } from './resolve.ts';
import type { User } from './user.ts';

/** The verified user of the page being rendered (server components only). */
export async function currentUser(): Promise<User | null> {
  return resolveUser((await cookies()).getAll());
}
