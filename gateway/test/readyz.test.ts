import { describe, expect, test } from 'bun:test';
import { createApp } from '../src/app.ts';
import { RouteTable } from '../src/agents/route-table.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { stubRuntime, testSettings, TOKEN, trustingUsers } from './helpers.ts';

const ADMIN_TOKEN = 'readyz-admin-token-0123456789';

function gateway(ready = true, env: Record<string, string> = { ADMIN_TOKEN }) {
  const runtime: AgentRuntime = {
    ...stubRuntime,
    async checkReady() {
      if (!ready) throw new Error('connect ENOENT /var/run/docker.sock');
    },
  };
  const routes = new RouteTable();
  routes.set({ userId: 'u1', instanceId: 'c1', url: 'http://u1.test:8000' });
  return createApp({ settings: testSettings({ AGENT_IMAGE: 'nanobot-tutor-secret-tag', GATEWAY_INSTANCE: 'school1', ...env }), runtime, users: trustingUsers(), routes, log: () => {} });
}

const withToken = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('/readyz', () => {
  test('answers the bare status to anyone, and nothing about the image, the instance or the agents', async () => {
    const res = await gateway().request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  test('adds the details for GATEWAY_TOKEN and for ADMIN_TOKEN', async () => {
    for (const token of [TOKEN, ADMIN_TOKEN]) {
      const res = await gateway().request('/readyz', withToken(token));
      expect(await res.json()).toEqual({ status: 'ready', image: 'nanobot-tutor-secret-tag', instance: 'school1', network: 'nanobot-net', agents: 1 });
    }
  });

  test('a wrong token gets the bare status, not a 401: health checks never fail over a token', async () => {
    const res = await gateway().request('/readyz', withToken('wrong-token'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  test('not ready: a JSON 503 for anyone, the reason only with a token', async () => {
    const bare = await gateway(false).request('/readyz');
    expect(bare.status).toBe(503);
    const body = (await bare.json()) as { error: string; code: string };
    expect(body.code).toBe('not_ready');
    expect(body.error).not.toContain('nanobot-tutor-secret-tag');
    const detailed = (await (await gateway(false).request('/readyz', withToken(TOKEN))).json()) as { error: string };
    expect(detailed.error).toContain('nanobot-tutor-secret-tag');
  });

  test('with GATEWAY_ALLOW_NO_TOKEN every caller is trusted, so every caller sees the details', async () => {
    const open = createApp({ settings: testSettings({ GATEWAY_TOKEN: '', GATEWAY_ALLOW_NO_TOKEN: '1' }), runtime: stubRuntime, users: trustingUsers(), routes: new RouteTable(), log: () => {} });
    expect(await (await open.request('/readyz')).json()).toMatchObject({ status: 'ready', image: 'nanobot-tutor', agents: 0 });
  });
});
