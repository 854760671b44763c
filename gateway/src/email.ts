/**
 * Which email addresses name a student: RFC 5321's Dot-string local part and a host name.
 *
 * - local part: atoms of letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~, joined by single
 *   dots (no leading, trailing or double dot), at most 64 characters (RFC 5321 §4.5.3.1.1);
 * - domain: labels of letters, digits and inner hyphens (none at a label's start or end), at most 63
 *   characters each, at least two of them, the last starting with a letter (so no bare IP address);
 * - at most 254 characters in all (the 256-character path minus its angle brackets).
 *
 * Refused although RFC 5321 allows them: quoted local parts (`"a b"@x.org`) and address literals
 * (`a@[192.0.2.1]`), which no school's accounts hand out and which would need quoting everywhere;
 * and non-ASCII addresses (RFC 6531). zod's own `z.email()` refuses most of the special characters,
 * so its pattern is replaced by this one. The regex cannot backtrack badly: dots never occur inside
 * an atom or a label.
 */
export const EMAIL_PATTERN =
  /^(?=[^@]{1,64}@)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export const MAX_EMAIL_LENGTH = 254;
