/**
 * Preloaded into a gateway process by spawnGateway (`bun --preload`): appends one line per Docker
 * Engine API request to COUNT_DOCKER_CALLS_FILE. The gateway exposes no call counter, and patching
 * docker-modem's single entry point counts the same requests its own tests count, without
 * touching gateway code.
 */
import { appendFileSync } from 'node:fs';
import Modem from 'docker-modem';

const file = process.env.COUNT_DOCKER_CALLS_FILE;
if (file) {
  const dial = Modem.prototype.dial;
  Modem.prototype.dial = function countedDial(this: Modem, options, callback) {
    appendFileSync(file, `${options.method ?? 'GET'} ${options.path}\n`);
    return dial.call(this, options, callback);
  };
}
