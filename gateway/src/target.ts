/**
 * The path of a request's URL, still percent-encoded, cut from the string instead of parsed: Bun
 * hands the server an already normalised absolute URL, so this equals `new URL(url).pathname`.
 */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start === -1) return '/';
  const query = url.indexOf('?', start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}
