/** Shared pieces of the gateway tests. */
import { createUsers } from '../src/accounts/index.ts';
import type { AgentRuntime } from '../src/runtime/types.ts';
import { loadSettings, type Settings, type UserSettings } from '../src/settings.ts';

export const TOKEN = 'test-gateway-token';

/** Settings for tests; X-User-Email is trusted unless the overrides say otherwise (accounts.test.ts verifies identities). */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    GATEWAY_TOKEN: TOKEN,
    AGENT_TOKEN_SECRET: 'test-agent-secret',
    AGENT_HOST_MODE: 'ip',
    GATEWAY_TRUST_EMAIL_HEADER: '1',
    ...overrides,
  });
}

/** Only the user settings, from exactly these variables (nothing trusted by default). */
export function userSettings(env: Record<string, string>): UserSettings {
  return loadSettings({ GATEWAY_TOKEN: TOKEN, AGENT_TOKEN_SECRET: 'test-agent-secret', ...env }).users;
}

/** Trusts X-User-Email as the original web app needs; the verified identity has its own tests. */
export const trustingUsers = () => createUsers({ settings: userSettings({ GATEWAY_TRUST_EMAIL_HEADER: '1' }), log: () => {} });

export const authHeaders = (email: string, extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${TOKEN}`,
  'X-User-Email': email,
  ...extra,
});

/** A runtime whose agents "run" at a made-up address per user, for tests that fake the agents' fetch too. */
export const stubRuntime: AgentRuntime = {
  async ensure(identity) {
    return { userId: identity.id, instanceId: `c-${identity.id}`, url: `http://${identity.containerName}.test:8000` };
  },
  async locate() {
    return undefined;
  },
  async find() {
    return undefined;
  },
  async stop() {},
  async remove() {},
  async list() {
    return [];
  },
  async *events() {},
  async checkReady() {},
};
