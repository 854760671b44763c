/** Shared pieces of the gateway tests. */
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

export const authHeaders = (email: string, extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${TOKEN}`,
  'X-User-Email': email,
  ...extra,
});
