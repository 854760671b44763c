import { describe, expect, test } from 'bun:test';
import { agentToken, emailSchema, identityFor } from '../src/identity.ts';
import { INVALID_EMAILS, VALID_EMAILS } from './emails.ts';

describe('identityFor', () => {
  test('turns an email into a slug, a 10-digit hash and an agent container name', () => {
    const identity = identityFor('alice@example.com');
    expect(identity.id).toMatch(/^alice_example_com-[0-9a-f]{10}$/);
    expect(identity.containerName).toBe(`agent-${identity.id}`);
    expect(identity.email).toBe('alice@example.com');
  });

  test('hashes the normalised email with SHA-256', () => {
    const expected = new Bun.CryptoHasher('sha256').update('alice@example.com').digest('hex').slice(0, 10);
    expect(identityFor('alice@example.com').id.endsWith(`-${expected}`)).toBe(true);
  });

  test('gives two emails with the same slug two different ids', () => {
    const a = identityFor('john.smith@gmail.com');
    const b = identityFor('john@smith.gmail.com');
    expect(a.id.split('-')[0]).toBe(b.id.split('-')[0]);
    expect(a.id).not.toBe(b.id);
  });

  test('keeps the container name within 63 characters for the longest emails', () => {
    const long = `${'x'.repeat(64)}@${'y'.repeat(180)}.com`;
    const { containerName } = identityFor(long);
    expect(containerName.length).toBeLessThanOrEqual(63);
    expect(containerName).toMatch(/^agent-[a-z0-9_]+-[0-9a-f]{10}$/);
  });

  test('puts a non-default instance in the container name, keeps the id, and stays within 63 characters', () => {
    const email = `${'x'.repeat(64)}@example.com`;
    const plain = identityFor(email);
    const other = identityFor(email, 'b'.repeat(30));
    expect(other.id).toBe(plain.id);
    expect(other.containerName.length).toBeLessThanOrEqual(63);
    expect(other.containerName).toStartWith(`agent-${'b'.repeat(30)}-xxx`);
    expect(other.containerName.endsWith(plain.id.slice(-11))).toBe(true);
    expect(identityFor('alice@example.com', 'default').containerName).toBe(`agent-${identityFor('alice@example.com').id}`);
    expect(identityFor('alice@example.com', 'stack2').containerName).toBe(`agent-stack2-${identityFor('alice@example.com').id}`);
  });
});

describe('emailSchema', () => {
  test('trims and lower-cases a valid address', () => {
    expect(emailSchema.parse('  Alice@Example.COM ')).toBe('alice@example.com');
  });

  test.each(INVALID_EMAILS)('rejects %p', (value) => {
    expect(emailSchema.safeParse(value).success).toBe(false);
  });

  test.each(VALID_EMAILS)('accepts %p (RFC 5321 local parts and host names)', (value) => {
    expect(emailSchema.safeParse(value).success).toBe(true);
  });

  test('every valid address gives a safe folder and container name, and no two share an id', () => {
    const emails = VALID_EMAILS.map((e) => emailSchema.parse(e));
    const ids = new Set<string>();
    for (const email of emails) {
      const { id, containerName } = identityFor(email);
      expect(id).toMatch(/^[a-z0-9_]+-[0-9a-f]{10}$/);
      expect(containerName).toMatch(/^agent-[a-z0-9_]+-[0-9a-f]{10}$/);
      expect(containerName.length).toBeLessThanOrEqual(63);
      ids.add(id);
    }
    expect(ids.size).toBe(new Set(emails).size);
    // Special characters all become `_` in the slug; the hash keeps the ids apart.
    expect(identityFor('x!y@example.com').id).not.toBe(identityFor('x#y@example.com').id);
  });
});

describe('agentToken', () => {
  test('is the HMAC-SHA256 of the container name, different per agent', () => {
    const token = agentToken('secret', 'agent-a');
    expect(token).toBe(new Bun.CryptoHasher('sha256', 'secret').update('agent-a').digest('hex'));
    expect(agentToken('secret', 'agent-b')).not.toBe(token);
  });
});
