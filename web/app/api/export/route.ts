import { handleExport } from '@/lib/api/export.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleExport);
