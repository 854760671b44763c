/** Structured logging: one JSON object a line. */
export type LogLine = Record<string, unknown>;
export type Log = (line: LogLine) => void;

export const jsonLog: Log = (line) => console.log(JSON.stringify({ time: new Date().toISOString(), ...line }));
