import { callGateway } from '../gateway.ts';
import { jsonError } from './errors.ts';
import { relayJson, type ApiHandler } from './handler.ts';
import { MAX_BATCH_BYTES, MAX_FILE_BYTES, MESSAGES } from './shared.ts';

/**
 * Takes a multipart form (field `files`, several allowed) and sends it in the agent's JSON upload
 * contract. Sizes are checked here first, so an oversize file never leaves the web server.
 */
export const handleUpload: ApiHandler = async (request, user, gateway) => {
  const form = await request.formData().catch(() => null);
  const files = (form?.getAll('files') ?? []).filter((entry): entry is File => entry instanceof File);
  if (files.length === 0) return jsonError(400, { error: 'Choose at least one file to upload.', code: 'bad_request' });
  const tooLarge = files.find((file) => file.size > MAX_FILE_BYTES);
  if (tooLarge) {
    return jsonError(413, { error: `${MESSAGES.tooLarge} (${tooLarge.name})`, code: 'too_large' });
  }
  if (files.reduce((sum, file) => sum + file.size, 0) > MAX_BATCH_BYTES) {
    return jsonError(413, { error: `Those files are more than ${MAX_BATCH_BYTES / 1024 / 1024} MB together. Upload fewer at a time.`, code: 'too_large' });
  }
  const payload = await Promise.all(
    files.map(async (file) => ({ name: file.name, content_base64: Buffer.from(await file.arrayBuffer()).toString('base64') })),
  );
  return relayJson(
    await callGateway(gateway, user, '/uploads', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ files: payload }),
    }),
  );
};
