import { handleCapabilities } from '@/lib/api/capabilities.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleCapabilities);
