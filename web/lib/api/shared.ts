/**
 * What the browser and the API routes agree on. Plain values only: the client bundle imports this
 * file, so it must not pull in anything server-side.
 */

/** The agent's own per-file upload limit (nanobot's and the reference agent's). */
export const MAX_FILE_BYTES = 5 * 1024 * 1024;
export const MAX_FILE_LABEL = '5 MB';
/** Base64 grows a batch by a third; this keeps the JSON under the gateway's 32 MiB body limit. */
export const MAX_BATCH_BYTES = 22 * 1024 * 1024;
/** The longest message the chat route passes on (the composer's maxLength too). */
export const MAX_MESSAGE_CHARS = 100_000;
export const MAX_MESSAGE_LABEL = MAX_MESSAGE_CHARS.toLocaleString('en-US');

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
  'quota',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** The sentences students see; the gateway's and the agent's own wording is meant for operators. */
export const MESSAGES = {
  starting: 'Your tutor is starting… This can take a few seconds the first time. Please try again.',
  tooLarge: `That file is larger than ${MAX_FILE_LABEL}.`,
  notFound: 'That item could not be found.',
  badRequest: 'That request could not be understood.',
  tooLong: `Your message is too long (at most ${MAX_MESSAGE_LABEL} characters).`,
  unavailable: 'Your tutor stopped responding. Please try again.',
  cutOff: 'The answer was cut off. Please try again.',
  paused: 'Your tutor is paused by your administrator for a moment. Please try again shortly.',
  misconfigured: 'The tutor service refused this app. Please tell your administrator (check GATEWAY_TOKEN).',
  unreachable: 'The tutor service cannot be reached right now. Please try again in a moment.',
  noModel: 'Your tutor has no AI model configured yet. Please tell your administrator (config.json needs an LLM provider key).',
  modelFailed: 'Your tutor’s AI model did not answer. Please try again.',
  tooSlow: 'Your tutor took too long to answer. Please try again.',
  tooFast: 'You are asking your tutor faster than your school allows. Please wait a minute and try again.',
  noVision: 'Your tutor’s AI model cannot look at images. Describe the picture in words instead.',
  cannotStart: 'Your tutor could not start. Your administrator has been told; please try again later.',
  forbidden: 'Only your uploads and notes can be changed.',
  conflict: 'A file with that name already exists.',
  unsupported: 'Your tutor does not offer this.',
  failed: 'Something went wrong. Please try again.',
  unauthenticated: 'Please sign in again.',
} as const;

/** The gateway's LLM relay refused: the student's own daily allowance is used up, or (scope `class`) the whole class's. */
export function quotaMessage(resetsAt: unknown, scope?: unknown): string {
  const when = typeof resetsAt === 'string' && !Number.isNaN(Date.parse(resetsAt)) ? new Date(resetsAt) : undefined;
  const time = when ? `${when.toISOString().slice(11, 16)} UTC` : 'midnight UTC';
  return `${scope === 'class' ? 'The class has' : 'You have'} used today's tutoring allowance; it resets at ${time}.`;
}

/** The sentence for each code an answer can fail with (the agent's, and the gateway's `agent_lost`). */
const ANSWER_FAILURES: Record<string, string> = {
  llm_failed: MESSAGES.modelFailed,
  llm_timeout: MESSAGES.tooSlow,
  no_provider: MESSAGES.noModel,
  no_vision: MESSAGES.noVision,
  llm_rate_limited: MESSAGES.tooFast,
  agent_lost: MESSAGES.cutOff,
};

/**
 * The sentence for an answer that failed, by its code, whether the failure is the chat's response,
 * an `error` event mid-answer or stored with the turn: never the agent's own text, which quotes the
 * provider's error. The relay's quota refusal is the exception: the agent passes on the relay's own
 * sentence, written for students, with when it resets.
 */
export function failedAnswerMessage(code: unknown, text?: unknown): string {
  if (code === 'llm_quota') return typeof text === 'string' && text ? text : quotaMessage(undefined);
  return (typeof code === 'string' && Object.hasOwn(ANSWER_FAILURES, code) && ANSWER_FAILURES[code]) || MESSAGES.failed;
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
