/**
 * Everything a student keeps, as one zip streamed as it is read: `chats/<session>.md`, `memory/`, and
 * `files/files_uploaded/…`, `files/notes/…`. Files are read chunk by chunk only when the client takes more,
 * so memory stays bounded however large the workspace is.
 */
import { strToU8, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { listWorkspaceFiles, type Layout } from './workspace.ts';

/** The part of a stored session the export needs. */
export type ExportSession = {
  session_id?: string;
  id?: string;
  title?: string;
  messages: Array<{ role: string; content: string; timestamp?: string; status?: string; error?: string }>;
};

const ROLE_NAMES: Record<string, string> = { user: 'Student', assistant: 'Tutor' };

export function sessionMarkdown(session: ExportSession): string {
  const lines = [`# ${session.title || session.session_id || session.id || 'Chat'}`, ''];
  for (const message of session.messages) {
    const when = message.timestamp ? ` · ${message.timestamp}` : '';
    lines.push(`## ${ROLE_NAMES[message.role] ?? message.role}${when}`, '', message.content);
    if (message.status === 'stopped') lines.push('', '_(stopped)_');
    if (message.status === 'error') lines.push('', `_(failed: ${message.error ?? 'no answer'})_`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Already-compressed formats are stored as they are; deflating them again costs CPU for nothing. */
const COMPRESSIBLE = /\.(md|txt|csv|json|tex|py|js|ts|html|xml|svg|c|h|cpp|java|log|ipynb)$/i;

async function* filesUnder(workspace: string, folder: string): AsyncGenerator<string> {
  // A folder the student never made (notes/) is simply empty.
  const files = await listWorkspaceFiles(workspace, folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  yield* files;
}

/** Feeds the zip one piece at a time; each `yield` gives the reader a chance to take what was produced. */
async function* feed(zip: Zip, layout: Layout, sessions: ExportSession[]): AsyncGenerator<void> {
  const addWhole = (name: string, data: Uint8Array) => {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    entry.push(data, true);
  };
  for (const session of sessions) {
    const id = (session.session_id ?? session.id ?? 'chat').replace(/[^A-Za-z0-9_-]/g, '_');
    addWhole(`chats/${id}.md`, strToU8(sessionMarkdown(session)));
    yield;
  }
  for (const [path, name] of [
    [layout.memoryFile, 'memory/MEMORY.md'],
    [layout.historyFile, 'memory/HISTORY.md'],
  ] as const) {
    const file = Bun.file(path);
    if (await file.exists()) addWhole(name, await file.bytes());
    yield;
  }
  for (const folder of ['files_uploaded', 'notes']) {
    for await (const relativePath of filesUnder(layout.workspace, folder)) {
      const name = `files/${relativePath}`;
      const entry = COMPRESSIBLE.test(name) ? new ZipDeflate(name, { level: 6 }) : new ZipPassThrough(name);
      zip.add(entry);
      try {
        const reader = Bun.file(`${layout.workspace}/${relativePath}`).stream().getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          entry.push(read.value);
          yield;
        }
      } catch (error) {
        // Deleted or unreadable while exporting: the entry ends where reading stopped; the rest of the export goes on.
        console.warn(`export: could not read ${relativePath}: ${(error as Error).message}`);
      }
      entry.push(new Uint8Array(0), true);
    }
  }
  zip.end();
}

export function exportZip({ layout, sessions }: { layout: Layout; sessions: ExportSession[] }): ReadableStream<Uint8Array> {
  let zip: Zip;
  let steps: AsyncGenerator<void>;
  let produced = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      zip = new Zip((error, chunk, final) => {
        if (error) return controller.error(error);
        produced += 1;
        controller.enqueue(chunk);
        if (final) controller.close();
      });
      steps = feed(zip, layout, sessions);
    },
    // Feed until the zip has something for the reader: a step may produce nothing (a missing file, deflate buffering).
    async pull() {
      const before = produced;
      while (produced === before && !(await steps.next()).done);
    },
    async cancel() {
      zip.terminate();
      await steps.return(undefined);
    },
  });
}
