import { sendMagicLink } from '@/lib/auth/routes.ts';
import { authMode, publicUrl } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const POST = (request: Request) => sendMagicLink(request, authMode(), publicUrl());
