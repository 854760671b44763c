import { adminRoute } from '@/lib/admin/route.ts';

export const dynamic = 'force-dynamic';
export const GET = adminRoute;
export const POST = adminRoute;
export const DELETE = adminRoute;
