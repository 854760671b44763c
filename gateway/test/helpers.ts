/** Shared pieces of the gateway tests. */
import { createUsers } from '../src/accounts/index.ts';
import { loadUserSettings } from '../src/accounts/settings.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { loadSettings, type Settings } from '../src/settings.ts';

export const TOKEN = 'test-gateway-token';

export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'test-agent-secret',
    AGENT_HOST_MODE: 'ip',
    ...overrides,
  });
}

/** Trusts X-User-Email as the original web app needs; the verified identity has its own tests. */
export const trustingUsers = () => createUsers({ settings: loadUserSettings({ GATEWAY_TRUST_EMAIL_HEADER: '1' }), log: () => {} });

export const authHeaders = (email: string, extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${TOKEN}`,
  'X-User-Email': email,
  ...extra,
});

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

/** A runtime whose agents "run" at a made-up address per user, for tests that fake the agents' fetch too. */
export const stubRuntime: AgentRuntime = {
  async ensure(identity) {
    return { userId: identity.id, instanceId: `c-${identity.id}`, url: `http://${identity.containerName}.test:8000` };
  },
  async stop() {},
  async list() {
    return [];
  },
  async *events() {},
  async checkReady() {},
};
