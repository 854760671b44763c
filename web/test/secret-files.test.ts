/** The web app's secrets from files (Docker and Swarm secrets). */
import { describe, expect, test } from 'bun:test';
import { adminSettings } from '../lib/admin/settings.ts';
import { withSecretFiles } from '../lib/secret-files.ts';
import { gatewaySettings } from '../lib/settings.ts';

describe('withSecretFiles', () => {
  const read = (path: string) => ({ '/run/secrets/gateway_token': 'token-from-file\n', '/run/secrets/admin_token': 'admin-from-file\n' })[path] ?? '';

  test('reads X_FILE into X for the secret settings, and a directly set X wins', () => {
    const env = withSecretFiles({ GATEWAY_TOKEN_FILE: '/run/secrets/gateway_token' }, read);
    expect(gatewaySettings(env).token).toBe('token-from-file');
    expect(withSecretFiles({ GATEWAY_TOKEN: 'direct', GATEWAY_TOKEN_FILE: '/run/secrets/gateway_token' }, read).GATEWAY_TOKEN).toBe('direct');
    expect(withSecretFiles({ GATEWAY_URL_FILE: '/run/secrets/gateway_token' }, read)).not.toHaveProperty('GATEWAY_URL');
  });

  test('gives the admin page its token from ADMIN_TOKEN_FILE', () => {
    expect(adminSettings(withSecretFiles({ ADMIN_TOKEN_FILE: '/run/secrets/admin_token' }, read)).token).toBe('admin-from-file');
  });
});
