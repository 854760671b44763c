/** What the caller and the log learn about an agent that exited before it was healthy. */
import { GatewayError } from '../errors.ts';
import type { AgentExit } from '../runtime/types.ts';

/** Words of a line that says what went wrong, rather than a hint or a banner printed after it. */
const ERROR_LINE = /\b(error|exception|fatal|panic|denied|failed|cannot|can't|unable|missing|not found|no such)\b/i;

/** The short reason given to the caller: the exit code and the agent's last error line (else its last line). */
export function exitReason(exit: AgentExit): string {
  const last = exit.lines.findLast((line) => ERROR_LINE.test(line)) ?? exit.lines.at(-1);
  return `exited with code ${exit.exitCode}${last ? `: ${last}` : ''}`;
}

export const agentExited = (reason: string, retryAfterMs: number) =>
  new GatewayError(503, 'agent_exited', `The agent could not start (${reason}).`, { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) });
