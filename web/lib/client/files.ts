import { inlineTypeOf } from '@/lib/api/shared.ts';

/** The web app's address for a workspace file; `inline` shows images and PDFs in the page instead of downloading. */
export function fileUrl(path: string, inline = false): string {
  return `/api/files?path=${encodeURIComponent(path)}${inline ? '&inline=1' : ''}`;
}

/** The student's own files: what they uploaded and the notes the tutor wrote for them. */
export const OWN_FOLDERS = ['files_uploaded/', 'notes/'];

export function isOwnFile(path: string): boolean {
  return OWN_FOLDERS.some((folder) => path.startsWith(folder));
}

export function splitPath(path: string): { folder: string; name: string } {
  const index = path.lastIndexOf('/');
  return index < 0 ? { folder: '', name: path } : { folder: path.slice(0, index), name: path.slice(index + 1) };
}

export type PreviewKind = 'image' | 'pdf';

export function previewKindOf(path: string): PreviewKind | undefined {
  const type = inlineTypeOf(path);
  return type?.startsWith('image/') ? 'image' : type === 'application/pdf' ? 'pdf' : undefined;
}
