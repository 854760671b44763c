/** Secrets from files (Docker and Swarm secrets): X_FILE read into X, for the secret settings only. */
import { describe, expect, test } from 'bun:test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, SettingsError } from '../src/settings.ts';
import { withSecretFiles } from '../src/secret-files.ts';

describe('withSecretFiles', () => {
  const files: Record<string, string> = { '/run/secrets/token': 'from-a-file\n' };
  const read = (path: string) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return text;
  };

  test('reads X_FILE into X, without the trailing newline', () => {
    expect(withSecretFiles({ GATEWAY_TOKEN_FILE: '/run/secrets/token' }, read).GATEWAY_TOKEN).toBe('from-a-file');
  });

  test('leaves settings that are not secrets alone', () => {
    expect(withSecretFiles({ AGENT_IMAGE_FILE: '/run/secrets/token' }, read)).not.toHaveProperty('AGENT_IMAGE');
  });

  test('refuses both X and X_FILE, and names an unreadable file without its content', () => {
    expect(() => withSecretFiles({ ADMIN_TOKEN: 'x', ADMIN_TOKEN_FILE: '/run/secrets/token' }, read)).toThrow('ADMIN_TOKEN and ADMIN_TOKEN_FILE are both set');
    expect(() => withSecretFiles({ ADMIN_TOKEN_FILE: '/missing' }, read)).toThrow('ADMIN_TOKEN_FILE /missing cannot be read (ENOENT)');
  });

  test('loadSettings takes the gateway\'s secrets from files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbtest-secrets-'));
    await writeFile(join(dir, 'secret'), 'agent-secret-from-file\n');
    await writeFile(join(dir, 'token'), 'gateway-token-from-file');
    const settings = loadSettings({ AGENT_TOKEN_SECRET_FILE: join(dir, 'secret'), GATEWAY_TOKEN_FILE: join(dir, 'token'), GATEWAY_TRUST_EMAIL_HEADER: '1' });
    expect(settings.agents.tokenSecret).toBe('agent-secret-from-file');
    expect(settings.server.gatewayToken).toBe('gateway-token-from-file');
    expect(() => loadSettings({ AGENT_TOKEN_SECRET_FILE: join(dir, 'nope'), GATEWAY_TRUST_EMAIL_HEADER: '1', GATEWAY_ALLOW_NO_TOKEN: '1' })).toThrow(SettingsError);
  });
});
