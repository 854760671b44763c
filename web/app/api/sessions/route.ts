import { apiRoute } from '@/lib/api/route.ts';
import { handleDeleteSession, handleListSessions, handleRenameSession } from '@/lib/api/sessions.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleListSessions);
export const DELETE = apiRoute(handleDeleteSession);
export const PATCH = apiRoute(handleRenameSession);
