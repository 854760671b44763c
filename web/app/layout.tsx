import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import 'katex/dist/katex.min.css';
import 'highlight.js/styles/github.css';
import './globals.css';

export const metadata: Metadata = {
  title: 'nanobot tutor',
  description: 'Your own AI tutor: chat, files and memory.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#4f46e5' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
