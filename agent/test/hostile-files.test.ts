/**
 * A hostile corpus against the files and uploads routes of a running agent: every case must be a 4xx JSON
 * `{error, code}` (never a 500 or a bare text), and the whole corpus must change nothing on disk, inside the
 * workspace or outside it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { startAgentServer, type AgentServer } from '../src/server.ts';

let outer: string;
let home: string;
let server: AgentServer;
let before: string[];

/** Every path under `dir` with its size and modification time, to see that nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const info = await lstat(path);
    lines.push(`${path} ${info.size} ${info.mtimeMs}`);
    if (entry.isDirectory()) lines.push(...(await snapshot(path)));
  }
  return lines.sort();
}

beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'nbtest-agent-hostile-'));
  home = join(outer, 'home');
  await mkdir(home);
  await writeFile(join(outer, 'secret.txt'), 'outside the home');
  await writeFile(join(home, 'config.json'), '{"providers":{"openai":{"apiKey":"sk-secret"}}}');
  server = await startAgentServer({ home, port: 0, hostname: '127.0.0.1' });
  const workspace = join(home, 'workspace');
  await symlink(join(home, 'config.json'), join(workspace, 'link.json'));
  await symlink(outer, join(workspace, 'files_uploaded', 'out'));
  await writeFile(join(workspace, 'files_uploaded', 'kept.txt'), 'kept');
  before = await snapshot(outer);
});

afterAll(async () => {
  await server.stop();
  await rm(outer, { recursive: true, force: true });
});

const send = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

async function expectJsonError(response: Response, statuses?: number[]): Promise<void> {
  const text = await response.text();
  if (response.status < 400 || response.status >= 500) throw new Error(`expected a 4xx, got ${response.status}: ${text.slice(0, 200)}`);
  if (statuses) expect(statuses).toContain(response.status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(typeof body.error).toBe('string');
  expect(typeof body.code).toBe('string');
  expect(text).not.toContain('sk-secret');
  expect(text).not.toContain('outside the home');
  expect(text.length).toBeLessThan(2000);
}

/** Paths after /files/, as sent on the wire; [path, the statuses that are right for it]. */
const PATHS: Array<[string, number[]]> = [
  ['..%2Fconfig.json', [403]],
  ['..%2f..%2f..%2fetc%2fpasswd', [403]],
  ['%2e%2e%2fconfig.json', [403]],
  ['%2E%2E%2F%2E%2E%2Fsecret.txt', [403]],
  ['files_uploaded%2F..%2F..%2Fconfig.json', [403]],
  ['files_uploaded/..%2F..%2F..%2Fsecret.txt', [403]],
  ['memory/..%2F..%2F..%2Fetc%2Fshadow', [403]],
  ['link.json', [403]],
  ['files_uploaded/out/secret.txt', [403]],
  ['files_uploaded/out%2Fsecret.txt', [403]],
  ['%252e%252e%252fconfig.json', [404]],
  ['..%5C..%5Cconfig.json', [404]],
  ['....%2F%2F....%2F%2Fconfig.json', [404]],
  ['%2Fetc%2Fpasswd', [403, 404]],
  ['%2F%2F%2Froot%2F.nanobot%2Fconfig.json', [403, 404]],
  ['%00', [400]],
  ['a%00b', [400]],
  ['files_uploaded/kept.txt%00.png', [400]],
  ['%00%2F..%2Fconfig.json', [400]],
  ['%ZZ', [400]],
  ['%', [400]],
  ['abc%', [400]],
  ['%E0%A4%A', [400]],
  ['%C0%AE%C0%AE%2Fconfig.json', [400]],
  ['%FF%FE', [400]],
  ['%ED%A0%80', [400]],
  ['a'.repeat(10_000), [400]],
  [`files_uploaded/${'a'.repeat(256)}`, [400]],
  [`files_uploaded/${'%E6%BC%A2'.repeat(86)}`, [400]],
  ['a/'.repeat(3000), [400]],
  [`${'a/'.repeat(3000)}b`, [400]],
  [`${'x/'.repeat(1500)}..%2F`, [404]],
  ['.%2F'.repeat(2000), [404]],
  ['.%2F'.repeat(2100), [400]],
  [`${'..%2F'.repeat(1000)}etc%2Fpasswd`, [403]],
  [`${'..%2F'.repeat(1400)}etc%2Fpasswd`, [400]],
  ['files_uploaded/missing.txt', [404]],
  ['memory', [404]],
  ['files_uploaded', [404]],
  ['files_uploaded/.x.0000.tmp', [404]],
  ['files_uploaded/kept.txt/inner', [404]],
  ['%F0%9F%92%A9.txt', [404]],
  ['files_uploaded/%E2%80%AEtxt.exe', [404]],
  ['CON', [404]],
  ['files_uploaded/kept.txt%2F..%2F..%2Fconfig.json', [404]],
  ['files_uploaded/kept.txt%2F..%2F..%2F..%2Fconfig.json', [403]],
];

/** Bodies for POST /uploads that must be refused. */
const big = 'A'.repeat(Math.ceil((6 * 1024 * 1024) / 3) * 4);
const UPLOAD_BODIES: Array<[string, string, number[]]> = [
  ['empty body', '', [400]],
  ['not JSON', 'nope', [400]],
  ['cut JSON', '{"files":[', [400]],
  ['JSON null', 'null', [400]],
  ['JSON number', '1', [400]],
  ['JSON string', '"files"', [400]],
  ['JSON array', '[]', [400]],
  ['empty object', '{}', [400]],
  ['files null', '{"files":null}', [400]],
  ['files a string', '{"files":"a.txt"}', [400]],
  ['files an object', '{"files":{"name":"a","content_base64":"eA=="}}', [400]],
  ['files empty', '{"files":[]}', [400]],
  ['file null', '{"files":[null]}', [400]],
  ['file empty', '{"files":[{}]}', [400]],
  ['name missing', '{"files":[{"content_base64":"eA=="}]}', [400]],
  ['content missing', '{"files":[{"name":"a"}]}', [400]],
  ['name a number', '{"files":[{"name":1,"content_base64":"eA=="}]}', [400]],
  ['name an array', '{"files":[{"name":["a"],"content_base64":"eA=="}]}', [400]],
  ['content a number', '{"files":[{"name":"a","content_base64":1}]}', [400]],
  ['content an object', '{"files":[{"name":"a","content_base64":{}}]}', [400]],
  ['content null', '{"files":[{"name":"a","content_base64":null}]}', [400]],
  ['not base64', '{"files":[{"name":"a","content_base64":"not base64!"}]}', [400]],
  ['base64 one short', '{"files":[{"name":"a","content_base64":"eA="}]}', [400]],
  ['base64 padding inside', '{"files":[{"name":"a","content_base64":"e=A="}]}', [400]],
  ['base64 triple padding', '{"files":[{"name":"a","content_base64":"e==="}]}', [400]],
  ['base64url alphabet', '{"files":[{"name":"a","content_base64":"-_-_"}]}', [400]],
  ['base64 non-ASCII', '{"files":[{"name":"a","content_base64":"€€€€"}]}', [400]],
  ['base64 with NUL', '{"files":[{"name":"a","content_base64":"eA\\u0000="}]}', [400]],
  ['a good file, then a bad one', '{"files":[{"name":"ok.txt","content_base64":"eA=="},{"name":"b","content_base64":"@@@@"}]}', [400]],
  ['name of 5,000 characters', JSON.stringify({ files: [{ name: 'n'.repeat(5000), content_base64: 'eA==' }] }), [400]],
  ['a valid 6 MiB file', JSON.stringify({ files: [{ name: 'big.bin', content_base64: big }] }), [413]],
  ['6 MiB of bad base64', JSON.stringify({ files: [{ name: 'big.bin', content_base64: `${big.slice(1)}!` }] }), [413]],
  ['nested 10,000 deep', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, [400]],
  ['a lone surrogate in the name', '{"files":[{"name":"\\ud800","content_base64":"xyz"}]}', [400]],
  ['duplicate keys, the last invalid', '{"files":[{"name":"a","content_base64":"eA==","content_base64":"!"}]}', [400]],
  ['prototype pollution', '{"__proto__":{"files":[{"name":"a","content_base64":"eA=="}]}}', [400]],
];

/** Bodies for PATCH /files/files_uploaded/kept.txt that must be refused. */
const RENAME_BODIES: Array<[string, string]> = [
  ['empty body', ''],
  ['not JSON', 'kept2.txt'],
  ['JSON null', 'null'],
  ['JSON array', '["x"]'],
  ['name missing', '{}'],
  ['name empty', '{"name":""}'],
  ['name blank', '{"name":"   "}'],
  ['name a number', '{"name":42}'],
  ['name null', '{"name":null}'],
  ['name of 5,000 characters', JSON.stringify({ name: 'n'.repeat(5000) })],
];

const WRONG_METHODS: Array<[string, string]> = [];
for (const path of ['/uploads', '/files', '/files/files_uploaded/kept.txt', '/export']) {
  for (const method of ['PUT', 'OPTIONS', 'PROPFIND', 'PURGE', 'MKCOL']) WRONG_METHODS.push([method, path]);
}
WRONG_METHODS.push(['GET', '/uploads'], ['DELETE', '/uploads'], ['PATCH', '/uploads'], ['POST', '/files'], ['DELETE', '/files'], ['POST', '/export'], ['DELETE', '/export']);

describe('hostile paths', () => {
  for (const method of ['GET', 'DELETE', 'PATCH']) {
    for (const [path, statuses] of PATHS) {
      test(`${method} /files/${path.length > 60 ? `${path.slice(0, 60)}… (${path.length} characters)` : path}`, async () => {
        const init: RequestInit = method === 'PATCH' ? { method, body: '{"name":"renamed.txt"}' } : { method };
        await expectJsonError(await send(`/files/${path}`, init), statuses);
      });
    }
  }
  test('GET with ?inline=1 on a path outside', async () => {
    await expectJsonError(await send('/files/..%2Fconfig.json?inline=1'), [403]);
  });
});

describe('hostile upload bodies', () => {
  for (const [name, body, statuses] of UPLOAD_BODIES) {
    test(name, async () => {
      await expectJsonError(await send('/uploads', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }), statuses);
    });
  }
  test('a form instead of JSON', async () => {
    const form = new FormData();
    form.set('file', new Blob(['x']), 'x.txt');
    await expectJsonError(await send('/uploads', { method: 'POST', body: form }), [400]);
  });
});

describe('hostile rename bodies', () => {
  for (const [name, body] of RENAME_BODIES) {
    test(name, async () => {
      await expectJsonError(await send('/files/files_uploaded/kept.txt', { method: 'PATCH', body }), [400]);
    });
  }
});

describe('wrong methods', () => {
  for (const [method, path] of WRONG_METHODS) {
    test(`${method} ${path}`, async () => {
      const response = await send(path, { method });
      await expectJsonError(response, [405]);
    });
  }
});

describe('after the corpus', () => {
  test('nothing was written, renamed or deleted, inside the workspace or outside it', async () => {
    expect(await snapshot(outer)).toEqual(before);
  });

  test('the agent still serves', async () => {
    expect((await send('/files')).status).toBe(200);
    expect(await (await send('/files/files_uploaded/kept.txt')).text()).toBe('kept');
  });

  test('a link to a folder outside is neither listed nor exported (nor followed into a loop)', async () => {
    const { files } = (await (await send('/files')).json()) as { files: string[] };
    expect(files).toContain('files_uploaded/kept.txt');
    expect(files.filter((f) => f.includes('out/') || f.includes('link.json'))).toEqual([]);
    const zip = unzipSync(new Uint8Array(await (await send('/export')).arrayBuffer()));
    expect(Object.keys(zip).filter((name) => name.startsWith('files/'))).toEqual(['files/files_uploaded/kept.txt']);
  });
});
