/**
 * One JSON line per thing the engine did to an agent on its own account or reported back: an
 * exit with its code, Docker's own restart of a crashing agent (with its count), a removal, a
 * pause or unpause (an operator's `docker pause`: its student is refused meanwhile).
 * The lifecycle's own states (creating … running, stopping) are logged by the observer.
 */
import type { Log } from '../log.ts';
import type { AgentEvent } from '../runtime/types.ts';

export function logEngineEvent(log: Log, event: AgentEvent): void {
  const { userId, instanceId } = event;
  if (event.exitCode !== undefined) {
    // 0 and 143 (SIGTERM) are a stop; anything else is worth a look.
    const clean = event.exitCode === 0 || event.exitCode === 143;
    log({ level: clean ? 'info' : 'warn', msg: `agent exited with code ${event.exitCode}`, event: 'exited', userId, instanceId, exitCode: event.exitCode });
  } else if (event.removed) {
    log({ level: 'info', msg: 'agent container removed', event: 'removed', userId, instanceId });
  } else if (event.type === 'paused' || event.type === 'unpaused') {
    log({ level: 'warn', msg: `agent ${event.type} on the engine`, event: event.type, userId, instanceId });
  } else if (event.restarts !== undefined) {
    log({ level: 'warn', msg: `agent restarted by the engine (${event.restarts})`, event: 'restarted', userId, instanceId, restarts: event.restarts });
  }
}
