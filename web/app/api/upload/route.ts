import { apiRoute } from '@/lib/api/route.ts';
import { handleUpload } from '@/lib/api/upload.ts';

export const dynamic = 'force-dynamic';
export const POST = apiRoute(handleUpload);
