import { authCallback } from '@/lib/auth/routes.ts';
import { authMode, publicUrl } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const GET = (request: Request) => authCallback(request, authMode(), publicUrl());
