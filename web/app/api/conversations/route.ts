import { handleClearConversation } from '@/lib/api/conversations.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const DELETE = apiRoute(handleClearConversation);
