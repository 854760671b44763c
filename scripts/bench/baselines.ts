/** The proxies the gateway is measured against: a bare Bun pass-through and nginx, each its own process. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { cpuSecondsOf, threadCpuSecondsOf } from '../../test/support/proc.ts';

export type BaselineProxy = {
  name: string;
  url: string;
  /** CPU seconds of every process of the proxy (nginx: master and workers). */
  cpuSeconds(): number;
  /** CPU seconds by thread name, for a proxy that is one process (the bare pass-through). */
  threadCpuSeconds?(): Map<string, number>;
  stop(): Promise<void>;
};

async function firstLine(child: Subprocess<'ignore', 'pipe', 'pipe'>, pattern: RegExp): Promise<RegExpExecArray> {
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  for (;;) {
    const read = await reader.read();
    if (read.done) throw new Error(`exited before it was ready: ${seen}${await new Response(child.stderr).text()}`);
    seen += decoder.decode(read.value, { stream: true });
    const match = pattern.exec(seen);
    if (match) return match;
  }
}

export async function startBareProxy(target: string): Promise<BaselineProxy> {
  const child = Bun.spawn(['bun', join(import.meta.dir, 'bare-proxy.ts')], {
    env: { ...process.env, BARE_PROXY_TARGET: target },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const port = (await firstLine(child, /listening (\d+)/))[1];
  return {
    name: 'bare Bun.serve -> fetch',
    url: `http://127.0.0.1:${port}`,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    threadCpuSeconds: () => threadCpuSecondsOf(child.pid),
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}

/** nginx from the system, if there is one on PATH (Debian: `apt-get install nginx-light`). */
export function nginxBinary(): string | undefined {
  return Bun.which('nginx') ?? Bun.which('nginx', { PATH: '/usr/sbin:/usr/local/sbin' }) ?? undefined;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

const childPids = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/**
 * nginx as a plain reverse proxy with upstream keep-alive, one worker (the Bun proxies are single
 * threaded too), unbuffered both ways like the gateway, and an access log buffered in 64 KiB like
 * the gateway's batched request log. It runs in the foreground as a child, from a temp folder.
 */
export async function startNginx(binary: string, target: string): Promise<BaselineProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'nbbench-nginx-'));
  const port = await freePort();
  const upstream = new URL(target).host;
  const config = `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log combined buffer=64k;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream agent { server ${upstream}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://agent;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), config);
  const child = Bun.spawn([binary, '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' });
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries += 1) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${await new Response(child.stderr).text()}`);
    if (await fetch(`${url}/health`).then((res) => res.arrayBuffer().then(() => res.ok), () => false)) break;
    if (tries > 100) throw new Error('nginx did not start within 5 s');
    await Bun.sleep(50);
  }
  return {
    name: 'nginx (1 worker)',
    url,
    cpuSeconds: () => [child.pid, ...childPids(child.pid)].reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
    async stop() {
      child.kill('SIGQUIT');
      await child.exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
