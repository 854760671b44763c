/**
 * The end of `bun run setup` tells the truth about the tutors' LLM: configured and reachable,
 * configured but failing (and why), or not configured. It asks the running gateway (GET
 * /admin/llm, from inside the stack's network, as the tutors call) and checks from here only
 * when the gateway cannot be asked.
 */
import { checkLlm, type LlmCheck } from '../../gateway/src/admin/llm-check.ts';

const RESTART = 'then restart the tutors: bun run down --agents && bun run setup';

export function llmSummary(check: LlmCheck): string {
  if (!check.configured) {
    return `Tutors need an LLM key: put it in config.json (providers.<name>.apiKey, and
  agents.defaults.model), ${RESTART}
  (${check.error})`;
  }
  const where = `${check.model} from ${check.provider} (${check.apiBase})`;
  if (check.reachable) return `Tutors use ${where}: it answered a one-token test call.`;
  return `Tutors are set to use ${where}, but a one-token test call failed:
    ${check.error ?? `status ${check.status}`}
  Fix config.json (key, apiBase or model), ${RESTART}`;
}

/** The gateway's check with ADMIN_TOKEN; the same check run here when the gateway gives none. */
export async function llmCheckVia(gatewayUrl: string, adminToken: string | undefined, configPath: string): Promise<LlmCheck> {
  if (adminToken) {
    const res = await fetch(`${gatewayUrl}/admin/llm`, { headers: { Authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
    if (res?.ok) return (await res.json()) as LlmCheck;
  }
  return checkLlm(configPath);
}
