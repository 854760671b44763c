/**
 * Hides what looks like a secret in text the gateway logs or shows (an agent's last output lines):
 * provider keys (`sk-…`), bearer tokens, `apiKey`/`token`/`secret`/`password` values and long
 * hex or base64 runs. Over-masking a harmless id is fine; leaking a key is not.
 */
const MASK = '***';

const PATTERNS: Array<[RegExp, string]> = [
  // Bearer <token>
  [/\b(Bearer\s+)[^\s"',;]+/gi, `$1${MASK}`],
  // apiKey: "…", api_key=…, "token": "…", secret=…, password: … (JSON, YAML, env and CLI styles)
  [/\b([\w-]*(?:api[_-]?key|token|secret|password|passwd)["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi, `$1${MASK}`],
  // sk-…, sk-or-v1-…, sk-ant-…: the shape of most LLM provider keys
  [/\bsk-[A-Za-z0-9_-]{8,}/g, MASK],
  // Long hex (HMAC tokens, hashes) or base64/base64url runs
  [/\b[0-9a-f]{32,}\b/gi, MASK],
  [/[A-Za-z0-9+/_-]{40,}={0,2}/g, MASK],
];

export function maskSecrets(text: string): string {
  return PATTERNS.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text);
}
