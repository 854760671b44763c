import { handleAgentEvents } from '@/lib/api/agent.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleAgentEvents);
