import { startOAuth } from '@/lib/auth/supabase-routes.ts';
import { authMode, publicUrl } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const GET = (request: Request) => startOAuth(request, authMode(), publicUrl());
