/**
 * What the browser and the API routes agree on. Plain values only: the client bundle imports this
 * file, so it must not pull in anything server-side.
 */

/** The agent's own per-file upload limit (nanobot's and the reference agent's). */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;
export const MAX_FILE_LABEL = '5 MB';
/** Base64 grows a batch by a third; this keeps the JSON under the gateway's 32 MiB body limit. */
export const MAX_BATCH_BYTES = 22 * 1024 * 1024;

/** Every `code` an /api route answers with; `offline` is the browser's own (the app was unreachable). */
export const ERROR_CODES = [
  'starting',
  'cannot_start',
  'too_large',
  'not_found',
  'forbidden',
  'conflict',
  'bad_request',
  'unsupported',
  'unavailable',
  'misconfigured',
  'failed',
  'unauthenticated',
  'offline',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** What the student's agent offers beyond the base contract (the real nanobot image offers none of it). */
export type Capabilities = {
  /** GET /files/<path>: download links, previews, image thumbnails. */
  downloads: boolean;
  /** DELETE and PATCH /files/<path>. */
  manageFiles: boolean;
  /** PATCH /sessions. */
  renameSessions: boolean;
  /** POST /chat's `images` and `replace_last_turn` (attach, edit, regenerate). */
  chatOptions: boolean;
  /** GET /export. */
  export: boolean;
};

/** Image types the agent sends to the model (HEIC is refused there, so it is not offered here). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];
export const MAX_IMAGES = 4;

/**
 * The only types shown inline (previews and chat thumbnails), chosen by extension so the agent's
 * Content-Type never decides; anything else downloads as an attachment, never rendered as a page.
 */
const INLINE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  pdf: 'application/pdf',
};

export function inlineTypeOf(path: string): string | undefined {
  return INLINE_TYPES[path.split('.').pop()?.toLowerCase() ?? ''];
}
