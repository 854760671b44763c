import { acceptInvite } from '@/lib/auth/routes.ts';
import { authMode } from '@/lib/settings.ts';

export const dynamic = 'force-dynamic';
export const POST = (request: Request) => acceptInvite(request, authMode());
