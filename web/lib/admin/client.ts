/** The admin page's calls to its own server (`/api/admin/*`), which adds the admin token. */

export class AdminCallError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export async function adminCall<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/admin/${path}`, { cache: 'no-store', ...init });
  } catch {
    throw new AdminCallError('The web app cannot be reached.', 0);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const message = body && typeof body === 'object' && 'error' in body && typeof body.error === 'string' ? body.error : `Failed (${response.status}).`;
    throw new AdminCallError(message, response.status);
  }
  return body as T;
}
