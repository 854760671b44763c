/** Sends bytes no fetch() would send (a malformed Host, a NUL, a lying length) and reads what comes back. */

export type RawResponse = {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  body: string;
};

function parse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    let decoded = '';
    for (let rest = body; ; ) {
      const lineEnd = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, lineEnd), 16);
      if (!size) break;
      decoded += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 4 + size);
    }
    body = decoded;
  }
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body };
}

/**
 * Writes `head` (and `body` parts, `pauseMs` apart) to a new connection and collects the answer until
 * the server closes it or `timeoutMs` passes. The caller writes `Connection: close` when it wants the
 * answer to end the connection.
 */
export async function rawRequest(port: number, head: string, { body = [], pauseMs = 0, timeoutMs = 5_000 }: { body?: (string | Uint8Array)[]; pauseMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const received: Uint8Array[] = [];
  const closed = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_socket, data) {
        received.push(new Uint8Array(data));
      },
      close() {
        closed.resolve();
      },
      error() {
        closed.resolve();
      },
    },
  });
  socket.write(head);
  for (const part of body) {
    if (pauseMs) await Bun.sleep(pauseMs);
    socket.write(part);
  }
  const timer = setTimeout(() => socket.end(), timeoutMs);
  await closed.promise;
  clearTimeout(timer);
  return parse(Buffer.concat(received).toString('latin1'));
}
