import { updatePassword } from '@/lib/auth/supabase-routes.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const POST = (request: Request) => updatePassword(request, authMode());
