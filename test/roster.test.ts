/** `bun run students import` reads email addresses out of any roster layout. */
import { describe, expect, test } from 'bun:test';
import { emailsInCsv, normalEmail } from '../scripts/lib/roster.ts';

describe('reading a roster', () => {
  test('takes the first email address of each line, whatever the column, and skips headers and blanks', () => {
    const csv = 'name,email,group\n"Ada Lovelace","Ada@Example.edu",A\r\nBob;bob@example.edu;B\n\nno address here\n\tcarol@example.edu\n';
    expect(emailsInCsv(csv)).toEqual(['ada@example.edu', 'bob@example.edu', 'carol@example.edu']);
  });

  test('refuses what is not an address', () => {
    expect(normalEmail(' A@B.CO ')).toBe('a@b.co');
    for (const bad of ['a@b', 'a b@c.de', '@c.de', `${'x'.repeat(250)}@c.de`]) expect(normalEmail(bad)).toBeUndefined();
  });
});
