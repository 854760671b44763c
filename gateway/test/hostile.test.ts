/**
 * The gateway's part of the hostile corpus (the agent's is agent/test/hostile-*.test.ts): odd Host
 * headers, identities, encoded traversal, NUL bytes, overlong paths, methods, bodies, headers and slow
 * clients, sent as raw bytes to a real server. Each is answered with a 4xx: the gateway's JSON
 * `{error, code}`, or, for what Bun's HTTP parser refuses before the gateway sees it, Bun's own bare
 * 400 (malformed request line, header or framing), 431 (headers too large) or 505 (version or
 * request line), or its closing the connection for a method it does not know: the documented
 * exceptions (docs/security.md). None of them reaches the runtime, so none creates a container or a
 * data folder.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createApp } from '../src/app.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import type { AgentIdentity } from '../src/identity.ts';
import { serve } from '../src/serve.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { INVALID_EMAILS } from './emails.ts';
import { stubRuntime, testSettings, TOKEN, trustingUsers } from './helpers.ts';
import { rawRequest, type RawResponse } from './raw-http.ts';

const MAX_BODY_BYTES = 64 * 1024;
/** The statuses Bun's parser answers on its own, without a body, before the gateway runs. */
const BUN_BARE = [400, 413, 431, 505];

const ensured: AgentIdentity[] = [];
let agent: ReturnType<typeof Bun.serve>;
let gateway: ReturnType<typeof serve>;

beforeAll(() => {
  agent = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req) => Response.json({ received: (await req.arrayBuffer()).byteLength, path: new URL(req.url).pathname }),
  });
  const runtime: AgentRuntime = {
    ...stubRuntime,
    async ensure(identity) {
      ensured.push(identity);
      return { userId: identity.id, instanceId: `c-${identity.id}`, url: `http://127.0.0.1:${agent.port}` };
    },
  };
  const settings = testSettings({ MAX_BODY_BYTES: String(MAX_BODY_BYTES), BODY_IDLE_TIMEOUT: '300ms', UPSTREAM_QUICK_TIMEOUT: '2s' });
  gateway = serve(createApp({ settings, runtime, users: trustingUsers(), routes: new RouteTable(), log: () => {} }), { port: 0, hostname: '127.0.0.1' });
});

afterAll(async () => {
  await gateway.stop(true);
  await agent.stop(true);
});

type Header = [name: string, value: string];

const VALID_USER = 'hostile@example.com';
const DEFAULT_HEADERS: Header[] = [
  ['Host', 'gateway.test:8080'],
  ['Authorization', `Bearer ${TOKEN}`],
  ['X-User-Email', VALID_USER],
];

/** A request head: the default headers, each replaced (or, with `undefined`, dropped) by `overrides`, then `extra` appended. */
function head(method: string, target: string, overrides: Record<string, string | undefined> = {}, extra: Header[] = []): string {
  const lines = DEFAULT_HEADERS.flatMap(([name, value]): Header[] => {
    if (!(name in overrides)) return [[name, value]];
    const replaced = overrides[name];
    return replaced === undefined ? [] : [[name, replaced]];
  });
  return `${method} ${target} HTTP/1.1\r\n${[...lines, ...extra, ['Connection', 'close']].map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`;
}

type Case = {
  name: string;
  head: string;
  body?: (string | Uint8Array)[];
  pauseMs?: number;
  /** The gateway's JSON answer expected; omitted where Bun's bare refusal is expected instead. */
  status?: number;
  code?: string;
  /** Bun refuses it bare (one of BUN_BARE). */
  bare?: boolean;
  /** Bun closes the connection without an answer (a method its parser does not know). */
  closed?: boolean;
  /** Refused only once the proxy reads the body: the (valid) user's agent is started first. */
  startsAgent?: boolean;
  mayStartAgent?: boolean;
};

const badHosts = ['h:99999', '[', ']', '[::1', ':80', 'x:-1', 'h:99999999999999', 'h:80:80', '%00', '..', 'a..b', 'h'.repeat(5000), 'h:abc', `${'l'.repeat(64)}.example`];
/** Hosts Bun cannot put in a URL: it hands over a relative one, which matches no route. */
const unplaceableHosts = ['a b', '@evil.example', 'user@host', 'ex\u00e4mple.test'];
const hostRoutes: [method: string, target: string][] = [['GET', '/files'], ['POST', '/chat'], ['GET', '/memory']];

const hostCases: Case[] = [
  ...badHosts.flatMap((host) =>
    hostRoutes.map(([method, target]): Case => ({ name: `Host ${JSON.stringify(host.slice(0, 20))} on ${method} ${target}`, head: head(method, target, { Host: host }), status: 400, code: 'invalid_host' })),
  ),
  ...unplaceableHosts.flatMap((host) =>
    hostRoutes.map(([method, target]): Case => ({ name: `Host ${JSON.stringify(host)} on ${method} ${target}`, head: head(method, target, { Host: host }), status: 404, code: 'not_found' })),
  ),
  // With the URL relative, Hono finds a route eight characters in: the Host check still refuses it.
  { name: 'an unplaceable Host with a path that ends in a route', head: head('GET', '/1234567/chat', { Host: 'a b' }), status: 400, code: 'invalid_host' },
  { name: 'two Host headers', head: head('GET', '/files', {}, [['Host', 'other.test']]), status: 400, code: 'invalid_host' },
];

const identityCases: Case[] = [
  ...INVALID_EMAILS.filter((email) => !/[\0\r\n]/.test(email)).map((email): Case => ({
    name: `X-User-Email ${JSON.stringify(email.slice(0, 40))}`,
    head: head('GET', '/files', { 'X-User-Email': email }),
    status: 400,
    code: 'invalid_identity',
  })),
  { name: 'no X-User-Email', head: head('GET', '/files', { 'X-User-Email': undefined }), status: 400, code: 'invalid_identity' },
  { name: 'two X-User-Email headers', head: head('GET', '/files', {}, [['X-User-Email', 'other@example.com']]), status: 400, code: 'invalid_identity' },
  { name: 'X-User-Email of 10,000 characters', head: head('GET', '/files', { 'X-User-Email': `${'a'.repeat(9_988)}@example.com` }), status: 400, code: 'invalid_identity' },
  { name: 'X-User-Email with a NUL', head: head('GET', '/files', { 'X-User-Email': 'a\0b@example.com' }), bare: true },
  { name: 'X-User-Email folded over two lines', head: head('GET', '/files', { 'X-User-Email': 'a@example.com\r\n b@example.com' }), bare: true },
  { name: 'an assertion that is not a JWT', head: head('GET', '/files', {}, [['X-User-Assertion', 'not.a.jwt']]), status: 401, code: 'invalid_assertion' },
  { name: 'an unsigned (alg none) assertion', head: head('GET', '/files', {}, [['X-User-Assertion', `${btoa('{"alg":"none"}')}.${btoa('{"sub":"victim@example.com"}')}.`]]), status: 401, code: 'invalid_assertion' },
];

/** Dot segments, plain or with `%2e`, are resolved by Bun (as WHATWG URLs are) before routing: what is left matches no route. */
const resolvedByBun = ['/files/..', '/files/../..', '/files/%2e%2e', '/files/%2E%2E/etc/passwd', '/files/.%2e/x', '/files/%2e./x', '/files/a/%2e%2e/%2e%2e/b', '/files/a/../../../etc/shadow'];
const traversals = [
  '/files/%252e%252e/x', '/files/%25252e%25252e/x', '/files/a%2fb', '/files/a%2F..%2Fb', '/files/..%2f..%2fetc%2fpasswd', '/files/a%5cb', '/files/..%5c..%5cwindows',
  '/files/%00', '/files/a%00b', '/files/%2500', '/files/a%252fb', '/files/%', '/files/%zz', '/files/%e0%80%ae%e0%80%ae', '/files/%c0%ae%c0%ae/x', '/files/%c0%af',
];
const pathCases: Case[] = [
  ...resolvedByBun.map((target): Case => ({ name: `path ${target}`, head: head('GET', target), status: 404, code: 'not_found' })),
  ...traversals.map((target): Case => ({ name: `path ${target}`, head: head('GET', target), status: 400, code: 'invalid_path' })),
  { name: 'a path of 10,000 characters', head: head('GET', `/files/${'a'.repeat(10_000)}`), status: 414, code: 'path_too_long' },
  { name: 'a path of 3,000 levels', head: head('GET', `/files/${'a/'.repeat(3_000)}x`), status: 414, code: 'path_too_long' },
  { name: 'a query of 5,000 characters', head: head('GET', `/files?${'q'.repeat(5_000)}`), status: 414, code: 'path_too_long' },
  { name: 'a raw NUL in the path', head: head('GET', '/files/a\0b'), bare: true },
  { name: 'a space in the path', head: head('GET', '/files/a b'), bare: true },
  { name: 'an absolute-form target for another host', head: head('GET', 'http://169.254.169.254/latest/meta-data'), status: 404, code: 'not_found' },
  { name: 'an asterisk target', head: head('GET', '*'), bare: true },
  { name: 'an empty target', head: head('GET', ''), bare: true },
  { name: 'a path below a route without children', head: head('GET', '/memory/x'), status: 404, code: 'not_found' },
  { name: 'an unknown route', head: head('GET', '/etc/passwd'), status: 404, code: 'not_found' },
];

const methodCases: Case[] = [
  ...['TRACE', 'PROPFIND', 'MKCOL', 'LINK', 'PURGE', 'OPTIONS', 'QUERY'].map((method): Case => ({ name: `method ${method}`, head: head(method, '/files'), status: 404, code: 'not_found' })),
  { name: 'method CONNECT', head: head('CONNECT', 'gateway.test:443'), status: 404, code: 'not_found' },
  { name: 'a method no RFC defines', head: head('FOO', '/files'), closed: true },
  { name: 'a lower-case method', head: head('get', '/files'), closed: true },
  { name: 'a method of 1,000 letters', head: head('X'.repeat(1_000), '/files'), closed: true },
  { name: 'HTTP/2.0 in the request line', head: head('GET', '/files').replace('HTTP/1.1', 'HTTP/2.0'), bare: true },
  { name: 'HTTP/9.9 in the request line', head: head('GET', '/files').replace('HTTP/1.1', 'HTTP/9.9'), bare: true },
  { name: 'no version in the request line', head: head('GET', '/files').replace(' HTTP/1.1', ''), bare: true },
];

const bodyCases: Case[] = [
  { name: 'a declared body over MAX_BODY_BYTES', head: head('POST', '/uploads', {}, [['Content-Length', String(MAX_BODY_BYTES + 1)]]), status: 413, code: 'payload_too_large' },
  { name: 'a declared body of 10^20 bytes', head: head('POST', '/uploads', {}, [['Content-Length', '100000000000000000000']]), bare: true },
  { name: 'a negative Content-Length', head: head('POST', '/uploads', {}, [['Content-Length', '-1']]), bare: true },
  { name: 'a Content-Length that is not a number', head: head('POST', '/uploads', {}, [['Content-Length', 'abc']]), bare: true },
  { name: 'two different Content-Lengths', head: head('POST', '/uploads', {}, [['Content-Length', '1'], ['Content-Length', '2']]), bare: true },
  // Bun passes equal repeated values on joined ("2, 2"), which no numeric check reads.
  { name: 'the same Content-Length twice', head: head('POST', '/uploads', {}, [['Content-Length', '2'], ['Content-Length', '2']]), body: ['{}'], status: 400, code: 'bad_content_length' },
  {
    name: 'the same Content-Length over MAX_BODY_BYTES twice',
    head: head('POST', '/uploads', {}, [['Content-Length', '100000000'], ['Content-Length', '100000000']]),
    body: ['{}'],
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'Content-Length and chunked together', head: head('POST', '/uploads', {}, [['Content-Length', '5'], ['Transfer-Encoding', 'chunked']]), body: ['0\r\n\r\n'], bare: true },
  { name: 'a transfer coding other than chunked', head: head('POST', '/uploads', {}, [['Transfer-Encoding', 'gzip']]), bare: true },
  // Bun finds the bad chunk only when the proxy reads the body, so this valid user's agent may be started first.
  { name: 'a malformed chunk size', head: head('POST', '/uploads', {}, [['Transfer-Encoding', 'chunked']]), body: ['zz\r\nhello\r\n0\r\n\r\n'], bare: true, mayStartAgent: true },
  {
    name: 'a chunked body over MAX_BODY_BYTES',
    head: head('POST', '/uploads', {}, [['Transfer-Encoding', 'chunked']]),
    body: [`${(MAX_BODY_BYTES + 1).toString(16)}\r\n${'x'.repeat(MAX_BODY_BYTES + 1)}\r\n0\r\n\r\n`],
    status: 413,
    code: 'payload_too_large',
  },
];

const headerCases: Case[] = [
  { name: 'no Authorization', head: head('GET', '/files', { Authorization: undefined }), status: 401, code: 'unauthorized' },
  { name: 'Basic instead of Bearer', head: head('GET', '/files', { Authorization: 'Basic YTpi' }), status: 401, code: 'unauthorized' },
  { name: 'a bearer token with a NUL', head: head('GET', '/files', { Authorization: `Bearer ${TOKEN}\0` }), bare: true },
  { name: 'the token twice', head: head('GET', '/files', {}, [['Authorization', `Bearer ${TOKEN}`]]), status: 401, code: 'unauthorized' },
  { name: 'a token of 8,000 characters', head: head('GET', '/files', { Authorization: `Bearer ${'t'.repeat(8_000)}` }), status: 401, code: 'unauthorized' },
  { name: 'headers over 16 KiB', head: head('GET', '/files', {}, [['X-Padding', 'p'.repeat(17_000)]]), bare: true },
  { name: 'headers over 64 KiB', head: head('GET', '/files', {}, [['X-Padding', 'p'.repeat(70_000)]]), bare: true },
  { name: 'no Host on HTTP/1.1', head: head('GET', '/files', { Host: undefined }), bare: true },
  { name: 'a space before the colon', head: head('GET', '/files', {}, [['X-Odd ', 'value']]), bare: true },
  { name: 'a header name with a slash', head: head('GET', '/files', {}, [['X/Odd', 'value']]), bare: true },
  { name: 'a header line without a colon', head: head('GET', '/files').replace('Connection: close', 'Connection: close\r\nNoColonHere'), bare: true },
  { name: 'Connection listing Authorization (to strip the token downstream)', head: head('GET', '/files', { Authorization: undefined }, [['Connection', 'authorization']]), status: 401, code: 'unauthorized' },
];

const slowCases: Case[] = [
  {
    name: 'a chunked body that stops arriving for BODY_IDLE_TIMEOUT',
    head: head('POST', '/uploads', { 'X-User-Email': 'slow.body@example.com' }, [['Transfer-Encoding', 'chunked']]),
    body: ['5\r\nhello\r\n'],
    status: 408,
    code: 'body_timeout',
    startsAgent: true,
  },
  {
    name: 'a declared body that stops halfway for BODY_IDLE_TIMEOUT',
    head: head('POST', '/chat', { 'X-User-Email': 'slow.chat@example.com' }, [['Content-Length', '100']]),
    body: ['{"message":'],
    status: 408,
    code: 'body_timeout',
    startsAgent: true,
  },
];

const corpus = [...hostCases, ...identityCases, ...pathCases, ...methodCases, ...bodyCases, ...headerCases, ...slowCases];

function expectRefusal(res: RawResponse, expected: Case) {
  if (expected.closed) {
    expect(res.status).toBe(0);
    return;
  }
  if (expected.bare) {
    expect(BUN_BARE).toContain(res.status);
    expect(res.body).toBe('');
    return;
  }
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.status).toBe(expected.status!);
  expect(res.headers['content-type']).toContain('application/json');
  const body = JSON.parse(res.body) as { error: string; code: string };
  expect(body.code).toBe(expected.code!);
  expect(body.error.length).toBeGreaterThan(0);
}

describe('the hostile corpus against the gateway', () => {
  test('has at least 120 cases', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(120);
  });

  test.each(corpus.map((c) => [c.name, c] as const))('%s: a 4xx, and no agent', async (_name, expected) => {
    const before = ensured.length;
    const res = await rawRequest(gateway.port!, expected.head, { body: expected.body, pauseMs: expected.pauseMs });
    expectRefusal(res, expected);
    const started = ensured.length - before;
    if (expected.mayStartAgent) expect(started).toBeLessThanOrEqual(1);
    else expect(started).toBe(expected.startsAgent ? 1 : 0);
  });

  test.each(['/files/%2e', '/files/a\\b', '/files/./x'])('%s is resolved by Bun to a path inside /files before the agent sees it', async (target) => {
    const res = await rawRequest(gateway.port!, head('GET', target, { 'X-User-Email': 'resolved@example.com' }));
    expect(res.status).toBe(200);
    const { path } = JSON.parse(res.body) as { path: string };
    expect(path).toStartWith('/files/');
    expect(path).not.toMatch(/\.\.|%|\\/);
  });

  test('a repeated Content-Length leaves the route to a healthy agent alone', async () => {
    const user = { 'X-User-Email': 'repeated.length@example.com' };
    const post = (lengths: string[]) => rawRequest(gateway.port!, head('POST', '/uploads', user, lengths.map((l): Header => ['Content-Length', l])), { body: ['{}'] });
    expect((await post(['2'])).status).toBe(200);
    const before = ensured.length;
    for (let i = 0; i < 3; i += 1) expect((await post(['2', '2'])).status).toBe(400);
    expect((await post(['2'])).status).toBe(200);
    expect(ensured.length).toBe(before);
  });

  test('a well-formed request on the same server still reaches the agent', async () => {
    const res = await rawRequest(gateway.port!, head('POST', '/uploads', { 'X-User-Email': 'control@example.com' }, [['Content-Length', '2']]), { body: ['{}'] });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ received: 2, path: '/uploads' });
  });
});
