/**
 * Structured logging: one JSON object a line. Lines are written in batches, once per turn of the
 * event loop, because a write per request line was a visible share of the proxy's CPU under load;
 * whatever is still pending is written when the process exits.
 */
export type LogLine = Record<string, unknown>;
export type Log = (line: LogLine) => void;

/** A batch this large is written at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

let pending = '';
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (pending === '') return;
  const batch = pending;
  pending = '';
  // console.log writes synchronously, so nothing is lost when the process exits right after.
  console.log(batch);
}

process.on('exit', flush);

export const jsonLog: Log = (line) => {
  const text = JSON.stringify({ time: new Date().toISOString(), ...line });
  pending = pending === '' ? text : `${pending}\n${text}`;
  if (pending.length > MAX_PENDING_CHARS) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
};
