/** Email addresses out of a class roster, whatever its layout. The gateway validates them again. */

const EMAIL = /^[^\s@",;<>]+@[^\s@",;<>]+\.[^\s@",;<>]+$/;

/** The address trimmed and lower-cased, as the gateway keys accounts; undefined when it is none. */
export function normalEmail(value: string): string | undefined {
  const email = value.trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) ? email : undefined;
}

/** The first cell of each line that is an email address; header and blank lines have none. */
export function emailsInCsv(text: string): string[] {
  return text.split(/\r?\n/).flatMap((line) => {
    const cells = line.split(/[,;\t]/).map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
    const found = cells.map(normalEmail).find(Boolean);
    return found ? [found] : [];
  });
}
