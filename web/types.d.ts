// Next's ambient types (CSS imports, images), present without a prior `next build` that writes next-env.d.ts.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
