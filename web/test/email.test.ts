import { describe, expect, test } from 'bun:test';
import { EMAIL_PATTERN as GATEWAY_PATTERN } from '../../gateway/src/email.ts';
import { INVALID_EMAILS, VALID_EMAILS } from '../../gateway/test/emails.ts';
import { EMAIL_PATTERN, emailSchema } from '../lib/auth/user.ts';

describe('the web app accepts exactly the addresses the gateway does', () => {
  test('its copy of the rule is the gateway\'s', () => {
    expect(EMAIL_PATTERN.source).toBe(GATEWAY_PATTERN.source);
    expect(EMAIL_PATTERN.flags).toBe(GATEWAY_PATTERN.flags);
  });

  test.each(VALID_EMAILS)('accepts %p', (email) => {
    expect(emailSchema.safeParse(email).success).toBe(true);
  });

  test.each(INVALID_EMAILS)('refuses %p', (email) => {
    expect(emailSchema.safeParse(email).success).toBe(false);
  });
});
