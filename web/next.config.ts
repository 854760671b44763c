import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const webDir = dirname(fileURLToPath(import.meta.url));

const nextConfig: NextConfig = {
  output: 'standalone',
  // The workspace hoists node_modules to the repository root; tracing must start there.
  outputFileTracingRoot: join(webDir, '..'),
  turbopack: { root: join(webDir, '..') },
  // `tsc --noEmit -p web` type-checks everything (tests included, with Bun's types) in the test command.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
