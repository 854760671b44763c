import { describe, expect, test } from 'bun:test';
import { upstreamHeaders } from '../src/headers.ts';
import { isSafePath } from '../src/middleware/safe-path.ts';

const info = {
  agentToken: 'agent-token',
  userId: 'alice_example_com-0123456789',
  requestId: 'req-1',
  clientIp: '10.0.0.9',
  url: new URL('http://gateway.local:8080/chat'),
};

describe('upstreamHeaders', () => {
  const incoming = new Headers({
    Authorization: 'Bearer gateway-token',
    'X-User-Email': 'alice@example.com',
    'X-User-ID': 'forged',
    'X-Session-ID': 'session-7',
    Connection: 'keep-alive, X-Secret-Hop',
    'X-Secret-Hop': 'drop me',
    'Keep-Alive': 'timeout=5',
    'Transfer-Encoding': 'chunked',
    Upgrade: 'websocket',
    'X-Forwarded-For': '192.168.1.1',
    Host: 'gateway.local:8080',
    'Content-Type': 'application/json',
  });
  const out = upstreamHeaders(incoming, info);

  test('never forwards the gateway token and sends the per-agent one instead', () => {
    expect(out.get('authorization')).toBe('Bearer agent-token');
  });

  test('drops hop-by-hop headers and the ones Connection names', () => {
    for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'x-secret-hop']) expect(out.has(name)).toBe(false);
  });

  test('sets the user id itself, ignoring a forged one, and drops the email', () => {
    expect(out.get('x-user-id')).toBe(info.userId);
    expect(out.has('x-user-email')).toBe(false);
  });

  test('adds the request id and X-Forwarded-* and passes X-Session-ID and content headers', () => {
    expect(out.get('x-request-id')).toBe('req-1');
    expect(out.get('x-forwarded-for')).toBe('192.168.1.1, 10.0.0.9');
    expect(out.get('x-forwarded-host')).toBe('gateway.local:8080');
    expect(out.get('x-forwarded-proto')).toBe('http');
    expect(out.get('x-session-id')).toBe('session-7');
    expect(out.get('content-type')).toBe('application/json');
  });
});

describe('isSafePath', () => {
  test.each(['/files', '/files/notes/week%201.md', '/files/a.b/c..d', '/chat'])('allows %p', (path) => {
    expect(isSafePath(path)).toBe(true);
  });

  test.each(['/files/..%2f..%2fetc/passwd', '/files/%2e%2e%2fsecret', '/files/%252e%252e/x', '/files/..%5cwin', '/files/a%00b', '/files/%zz', '/files/..'])(
    'refuses %p',
    (path) => {
      expect(isSafePath(path)).toBe(false);
    },
  );
});
