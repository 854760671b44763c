/** Counting Docker Engine API requests made in this process (for a separate process, see count-docker-calls.ts). */
import Docker from 'dockerode';

export type DockerCall = { method: string; path: string };

/** A dockerode client that records every Engine API request it makes. */
export function countingDocker(): { docker: Docker; calls: DockerCall[] } {
  const docker = new Docker();
  const calls: DockerCall[] = [];
  const modem = docker.modem as unknown as { dial: (opts: DockerCall, callback: unknown) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (opts, callback) => {
    calls.push({ method: opts.method, path: opts.path });
    return dial(opts, callback);
  };
  return { docker, calls };
}
