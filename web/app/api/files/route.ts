import { handleDeleteFile, handleFiles, handleRenameFile } from '@/lib/api/files.ts';
import { apiRoute } from '@/lib/api/route.ts';

export const dynamic = 'force-dynamic';
export const GET = apiRoute(handleFiles);
export const DELETE = apiRoute(handleDeleteFile);
export const PATCH = apiRoute(handleRenameFile);
