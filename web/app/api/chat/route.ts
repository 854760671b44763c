import { handleChat } from '@/lib/api/chat.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const POST = apiRoute(handleChat);
