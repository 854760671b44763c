import { describe, expect, test } from 'bun:test';
import { maskSecrets } from '../src/mask.ts';

describe('maskSecrets', () => {
  test.each([
    ['openai key', 'using key sk-proj-AbCdEf0123456789xyz for openai', 'sk-proj-AbCdEf0123456789xyz'],
    ['openrouter key', 'Error: 401 for sk-or-v1-0123456789abcdef0123', 'sk-or-v1-0123456789abcdef0123'],
    ['bearer token', 'Authorization: Bearer abc.DEF_123-xyz', 'abc.DEF_123-xyz'],
    ['JSON apiKey', '{"providers":{"openrouter":{"apiKey":"or-secret-value"}}}', 'or-secret-value'],
    ['env api_key', 'OPENAI_API_KEY=plainvalue42', 'plainvalue42'],
    ['YAML token', 'token: hunter2hunter2', 'hunter2hunter2'],
    ['password', 'password=letmein', 'letmein'],
    ['long hex', `agent token ${'a1b2c3d4'.repeat(8)} rejected`, 'a1b2c3d4'.repeat(8)],
    ['long base64', `key ${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/'}== end`, 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/'],
  ])('hides a %s', (_, text, secret) => {
    const masked = maskSecrets(text);
    expect(masked).not.toContain(secret);
    expect(masked).toContain('***');
  });

  test('keeps ordinary messages as they are', () => {
    for (const line of ['Error: No API key configured.', 'Traceback (most recent call last):', 'exit code 1 after 120 ms', 'listening on port 8000']) {
      expect(maskSecrets(line)).toBe(line);
    }
  });

  test('keeps the name of the masked setting, so the line still says what was wrong', () => {
    expect(maskSecrets('invalid apiKey: sk-live-1234567890abcd')).toBe('invalid apiKey: ***');
  });
});
