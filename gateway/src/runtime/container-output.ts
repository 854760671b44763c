/** A container's last output lines, read from Docker's log endpoint. */
import { maskSecrets } from '../mask.ts';

/**
 * Docker multiplexes stdout and stderr of a container without a TTY into frames: one byte for the
 * stream, three zero bytes, a big-endian length, then the bytes. A TTY container's log is raw.
 */
export function demuxLogs(buffer: Uint8Array): string {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const isFramed = buffer.length >= 8 && (buffer[0] ?? 9) <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (!isFramed) return new TextDecoder().decode(buffer);
  const parts: Uint8Array[] = [];
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = view.getUint32(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

/** The non-blank lines at the end of some output, secrets masked, each cut to a readable length. */
export function lastLines(output: string, count: number, maxLength = 300): string[] {
  return output
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .map((line) => maskSecrets(line).slice(0, maxLength));
}
