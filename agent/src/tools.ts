/** The tools the model may call, all confined to the workspace (nanobot's file tools). */
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative } from 'node:path';
import { z } from 'zod';
import { MAX_EXPRESSION_CHARS, type Calculator } from './calculator.ts';
import type { ToolDefinition } from './llm/provider.ts';
import type { Uploads } from './uploads.ts';
import { listWorkspaceFiles, OutsideWorkspaceError, resolveInWorkspace, writeFileAtomic } from './workspace.ts';

/** Long files are cut so one read cannot fill the model's context window. */
const MAX_READ_CHARS = 60_000;

const pathArg = { path: { type: 'string', description: 'Path relative to the workspace, e.g. files_uploaded/notes.pdf' } };

export const TOOL_DEFINITIONS: ToolDefinition[] = [
  {
    name: 'list_dir',
    description: "List the files in a workspace folder (recursively). The student's uploads are in files_uploaded/.",
    parameters: { type: 'object', properties: { path: { ...pathArg.path, description: 'Folder relative to the workspace; "." for all' } }, required: [] },
  },
  {
    name: 'read_file',
    description: 'Read a text file from the workspace. PDF files are returned as extracted text.',
    parameters: { type: 'object', properties: pathArg, required: ['path'] },
  },
  {
    name: 'write_file',
    description: 'Create or replace a text file: study notes under notes/ (notes/<topic>.md), memory/MEMORY.md or USER.md. Other files are read-only.',
    parameters: { type: 'object', properties: { ...pathArg, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  {
    name: 'edit_file',
    description: 'Replace one exact occurrence of old_text with new_text in a file under notes/, memory/MEMORY.md or USER.md.',
    parameters: {
      type: 'object',
      properties: { ...pathArg, old_text: { type: 'string' }, new_text: { type: 'string' } },
      required: ['path', 'old_text', 'new_text'],
    },
  },
  {
    name: 'calculator',
    description:
      'Exact maths with mathjs. Use it to check every number before you give it to the student. operation "evaluate" (default): ' +
      'arithmetic ("2/3 + 1/4", "sqrt(2)^2"), units ("5 km to mile", "3 N * 2 m to J"), statistics ("mean([2, 4, 9])", "median(...)", ' +
      '"std(...)", "variance(...)"), matrices ("det([[1,2],[3,4]])"). "simplify": an algebraic expression ("2x + 3x - x^2/x"). ' +
      '"derivative": of expression with respect to variable ("x^3 + sin(x)", variable "x").',
    parameters: {
      type: 'object',
      properties: {
        operation: { type: 'string', enum: ['evaluate', 'simplify', 'derivative'] },
        expression: { type: 'string', description: 'In mathjs syntax' },
        variable: { type: 'string', description: 'For derivative: the variable, "x" by default' },
      },
      required: ['expression'],
    },
  },
];

const argsSchemas = {
  list_dir: z.object({ path: z.string().default('.') }),
  read_file: z.object({ path: z.string().min(1) }),
  write_file: z.object({ path: z.string().min(1), content: z.string() }),
  edit_file: z.object({ path: z.string().min(1), old_text: z.string().min(1), new_text: z.string() }),
  calculator: z.object({
    operation: z.enum(['evaluate', 'simplify', 'derivative']).default('evaluate'),
    expression: z.string().min(1).max(MAX_EXPRESSION_CHARS),
    variable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/).default('x'),
  }),
};

async function readText(path: string): Promise<string> {
  if (extname(path).toLowerCase() === '.pdf') {
    // pdf.js is large: loaded with the first PDF rather than at start-up.
    const { extractText, getDocumentProxy } = await import('unpdf');
    const pdf = await getDocumentProxy(new Uint8Array(await readFile(path)));
    const { totalPages, text } = await extractText(pdf, { mergePages: true });
    return `[PDF, ${totalPages} pages]\n${text}`;
  }
  const bytes = await readFile(path);
  if (bytes.includes(0)) throw new Error('this is a binary file, not text');
  return bytes.toString('utf8');
}

function truncate(text: string): string {
  return text.length > MAX_READ_CHARS ? `${text.slice(0, MAX_READ_CHARS)}\n… (truncated, ${text.length} characters in all)` : text;
}

export type ToolContext = {
  workspace: string;
  /**
   * Runs a change to memory/ in turn with memory consolidation, which reads MEMORY.md, waits for the
   * model and writes it back: an edit made in between would otherwise be overwritten.
   */
  inMemoryTurn: <T>(task: () => Promise<T>) => Promise<T>;
  /** Notes count towards the student's quota, checked in turn with upload batches. */
  uploads: Pick<Uploads, 'inTurn' | 'checkWrite'>;
  calculator: Calculator;
};

/** The parts of the workspace the model may change, by workspace-relative path. */
type Area = 'notes' | 'memory' | 'profile';

/**
 * Its notes, long-term memory and the student's profile. Uploads (the student's originals), the tutor's
 * instructions (AGENTS.md, SOUL.md) and the history log are not the model's to overwrite, whoever
 * steers it; and a file anywhere else would escape the quota.
 */
function areaOf(relativePath: string): Area | undefined {
  if (relativePath.startsWith('notes/')) return 'notes';
  if (relativePath === 'memory/MEMORY.md') return 'memory';
  if (relativePath === 'USER.md') return 'profile';
  return undefined;
}

class ReadOnlyError extends Error {
  constructor(path: string) {
    super(`${path} is read-only: write notes under notes/, memory/MEMORY.md or USER.md`);
  }
}

/** The file a write or edit may change, its folder created (notes/ need not exist yet); the area is decided where links lead. */
async function writableTarget(workspace: string, path: string): Promise<{ target: string; area: Area }> {
  const root = await realpath(workspace);
  const target = await resolveInWorkspace(root, path);
  if (!areaOf(relative(root, target))) throw new ReadOnlyError(path);
  await mkdir(dirname(target), { recursive: true });
  const area = areaOf(relative(root, join(await realpath(dirname(target)), basename(target))));
  if (!area) throw new ReadOnlyError(path);
  return { target, area };
}

/**
 * Runs `task` with the write its area allows, in that area's turn: memory takes turns with
 * consolidation; notes with upload batches, each write checked against the quota.
 */
async function inTurnFor<T>(
  { inMemoryTurn, uploads }: ToolContext,
  { target, area }: { target: string; area: Area },
  task: (write: (content: string) => Promise<void>) => Promise<T>,
): Promise<T> {
  const write = (content: string) => writeFileAtomic(target, content);
  if (area === 'memory') return inMemoryTurn(() => task(write));
  if (area === 'notes') {
    return uploads.inTurn(() =>
      task(async (content) => {
        await uploads.checkWrite(target, Buffer.byteLength(content));
        await write(content);
      }),
    );
  }
  return task(write);
}

/** Runs one tool call; failures come back as text for the model to read, never as exceptions. */
export async function runTool(context: ToolContext, name: string, rawArguments: string): Promise<string> {
  const { workspace } = context;
  try {
    const args: unknown = JSON.parse(rawArguments || '{}');
    switch (name) {
      case 'list_dir': {
        const { path } = argsSchemas.list_dir.parse(args);
        const files = await listWorkspaceFiles(workspace, path);
        return files.length ? files.join('\n') : '(no files)';
      }
      case 'read_file': {
        const { path } = argsSchemas.read_file.parse(args);
        const target = await resolveInWorkspace(workspace, path);
        if ((await stat(target)).isDirectory()) return `Error: ${path} is a folder; use list_dir`;
        return truncate(await readText(target));
      }
      case 'write_file': {
        const { path, content } = argsSchemas.write_file.parse(args);
        await inTurnFor(context, await writableTarget(workspace, path), (write) => write(content));
        return `Wrote ${content.length} characters to ${path}`;
      }
      case 'edit_file': {
        const { path, old_text, new_text } = argsSchemas.edit_file.parse(args);
        const writable = await writableTarget(workspace, path);
        // Read and write in one turn, so the edit applies to the file as it is when written.
        return await inTurnFor(context, writable, async (write) => {
          const text = await readFile(writable.target, 'utf8');
          const count = text.split(old_text).length - 1;
          if (count === 0) return `Error: old_text was not found in ${path}`;
          if (count > 1) return `Error: old_text occurs ${count} times in ${path}; give more context so it is unique`;
          await write(text.replace(old_text, () => new_text));
          return `Edited ${path}`;
        });
      }
      case 'calculator': {
        const { operation, expression, variable } = argsSchemas.calculator.parse(args);
        return await context.calculator.calculate(operation, expression, variable);
      }
      default:
        return `Error: unknown tool ${name}`;
    }
  } catch (error) {
    if (error instanceof OutsideWorkspaceError || error instanceof ReadOnlyError) return `Error: access denied, ${error.message}`;
    if (error instanceof z.ZodError) return `Error: invalid arguments for ${name}: ${z.prettifyError(error)}`;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'Error: no such file or folder';
    return `Error: ${error instanceof Error ? error.message : String(error)}`;
  }
}
