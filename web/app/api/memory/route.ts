import { handleMemory } from '@/lib/api/memory.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleMemory);
