/**
 * Preloaded into the gateway process by the bench (`bun --preload`): appends one line per Docker
 * Engine API request to BENCH_DOCKER_CALLS_FILE. The gateway exposes no call counter, and patching
 * docker-modem's single entry point counts the same requests its own tests count, without
 * touching gateway code.
 */
import { appendFileSync } from 'node:fs';
import Modem from 'docker-modem';

const file = process.env.BENCH_DOCKER_CALLS_FILE;
if (file) {
  const dial = Modem.prototype.dial;
  Modem.prototype.dial = function countedDial(this: Modem, options, callback) {
    appendFileSync(file, `${options.method ?? 'GET'} ${options.path}\n`);
    return dial.call(this, options, callback);
  };
}
