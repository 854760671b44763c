/**
 * When each user last used their agent, and how many of their requests are in flight. The culler
 * and the active-agent limit read it; both leave a user with a request in flight alone, however
 * long that request (an SSE answer, an upload) lasts.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type Clock = () => number;

export class Activity {
  private readonly last = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private dirty = false;

  /**
   * @param floor counts as the last activity of a user with no record: the gateway's start, so
   *   agents it has never seen used get a full idle period after a restart instead of none.
   */
  constructor(
    private readonly clock: Clock = Date.now,
    readonly floor: number = clock(),
  ) {}

  /** A request started; call the returned function (once is enough, more are ignored) when it is over. */
  begin(userId: string): () => void {
    this.inFlight.set(userId, (this.inFlight.get(userId) ?? 0) + 1);
    this.touch(userId);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.inFlight.get(userId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(userId, left);
      else this.inFlight.delete(userId);
      this.touch(userId);
    };
  }

  touch(userId: string): void {
    this.last.set(userId, this.clock());
    this.dirty = true;
  }

  requestsInFlight(userId: string): number {
    return this.inFlight.get(userId) ?? 0;
  }

  /** The last request's start or end (also one recorded before a restart), or `floor` for a user never seen. */
  lastActive(userId: string): number {
    return this.last.get(userId) ?? this.floor;
  }

  /** Reads what `save` wrote; a missing or unreadable file leaves every user at `floor`. */
  async load(file: string): Promise<void> {
    let saved: unknown;
    try {
      saved = await Bun.file(file).json();
    } catch {
      return;
    }
    if (typeof saved !== 'object' || saved === null) return;
    for (const [userId, at] of Object.entries(saved)) {
      if (typeof at === 'number' && Number.isFinite(at) && !this.last.has(userId)) this.last.set(userId, at);
    }
  }

  /** Writes the last activity of every user (atomically: a crash leaves the old file), if it changed. */
  async save(file: string): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const partial = `${file}.${process.pid}.tmp`;
      await writeFile(partial, JSON.stringify(Object.fromEntries(this.last)), { mode: 0o600 });
      await rename(partial, file);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}

/** The response body, passed through unchanged, calling `done` once it has been read to the end, failed or been cancelled. */
export function onBodyEnd(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const read = await reader.read();
          if (read.done) {
            controller.close();
            done();
          } else {
            controller.enqueue(read.value);
          }
        } catch (err) {
          done();
          controller.error(err);
        }
      },
      cancel(reason) {
        done();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
