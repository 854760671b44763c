/** Prints `BUN_IMAGE=… NODE_IMAGE=…` after making sure both base images exist (see lib/base-images.ts). */
import { ensureBaseImages } from './lib/base-images.ts';

const images = await ensureBaseImages((line) => console.error(line));
console.log(`BUN_IMAGE=${images.bunImage}`);
console.log(`NODE_IMAGE=${images.nodeImage}`);
