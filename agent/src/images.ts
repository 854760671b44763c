/** The student's uploaded images, checked and read for the model. */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, posix, sep } from 'node:path';
import { ApiError } from './errors.ts';
import type { ImageInput, ImageMediaType } from './llm/provider.ts';
import { OutsideWorkspaceError, resolveInWorkspace, type Layout } from './workspace.ts';

/** Providers cap an image at about 5 MB (Anthropic) to 20 MB (OpenAI); uploads are already capped at 5 MiB. */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** Enough for a page or two of homework without making one request huge. */
export const MAX_IMAGES = 4;

const TYPES: Record<string, ImageMediaType> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

/** The file's first bytes decide, so a renamed PDF is not sent as a picture. */
function sniff(bytes: Uint8Array): ImageMediaType | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

const HEIC_MESSAGE =
  'HEIC photos cannot be sent to the tutor: send a JPEG or PNG instead (on an iPhone: Settings → Camera → Formats → Most Compatible, or share the photo as JPEG).';

/** Reads each `files_uploaded/…` image; anything else is a 400 that says what to send instead. */
export async function readImages(layout: Layout, paths: string[]): Promise<ImageInput[]> {
  if (paths.length > MAX_IMAGES) throw new ApiError(400, `at most ${MAX_IMAGES} images per message`, 'too_many_images');
  const uploads = await realpath(layout.uploads);
  const images: ImageInput[] = [];
  for (const path of paths) {
    const normal = posix.normalize(path);
    if (!normal.startsWith('files_uploaded/') || normal.includes('..')) {
      throw new ApiError(400, `images must be uploaded first; ${path} is not in files_uploaded/`, 'invalid_image_path');
    }
    const extension = extname(normal).toLowerCase();
    if (extension === '.heic' || extension === '.heif') throw new ApiError(400, HEIC_MESSAGE, 'unsupported_image');
    if (!TYPES[extension]) throw new ApiError(400, `${path} is not an image: send JPEG, PNG, WebP or GIF`, 'not_an_image');
    let target: string;
    try {
      target = await realpath(await resolveInWorkspace(layout.workspace, normal));
    } catch (error) {
      if (error instanceof OutsideWorkspaceError) throw new ApiError(400, `${path} is not in files_uploaded/`, 'invalid_image_path');
      throw new ApiError(400, `image not found: ${path}`, 'image_not_found');
    }
    if (!target.startsWith(uploads + sep)) throw new ApiError(400, `${path} is not in files_uploaded/`, 'invalid_image_path');
    const info = await stat(target);
    if (!info.isFile()) throw new ApiError(400, `image not found: ${path}`, 'image_not_found');
    if (info.size > MAX_IMAGE_BYTES) throw new ApiError(413, `${path} is too large for the model (max 5 MB per image)`, 'image_too_large');
    const bytes = new Uint8Array(await readFile(target));
    const mediaType = sniff(bytes);
    if (!mediaType) throw new ApiError(400, `${path} is not a JPEG, PNG, WebP or GIF image`, 'not_an_image');
    images.push({ mediaType, base64: Buffer.from(bytes).toString('base64') });
  }
  return images;
}
