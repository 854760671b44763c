import { requestPasswordReset } from '@/lib/auth/supabase-routes.ts';
import { authMode, publicUrl } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const POST = (request: Request) => requestPasswordReset(request, authMode(), publicUrl());
