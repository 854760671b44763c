import { sendMagicLink } from '@/lib/auth/routes.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const POST = (request: Request) => sendMagicLink(request, authMode());
