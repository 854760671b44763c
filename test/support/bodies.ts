/** Request bodies for tests and benchmarks. */

/** A body of `total` bytes made on the fly, 64 KiB at a time, so neither test nor bench ever holds it whole. */
export function generatedBody(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const size = Math.min(chunk.byteLength, total - sent);
      sent += size;
      controller.enqueue(size === chunk.byteLength ? chunk : chunk.subarray(0, size));
    },
  });
}
