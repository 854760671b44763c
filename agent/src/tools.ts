/** The tools the model may call, all confined to the workspace (nanobot's file tools). */
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, extname, sep } from 'node:path';
import { z } from 'zod';
import { MAX_EXPRESSION_CHARS, type Calculator } from './calculator.ts';
import type { ToolDefinition } from './llm/provider.ts';
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
    description: 'Create or replace a text file in the workspace, e.g. study notes (notes/<topic>.md) or memory/MEMORY.md.',
    parameters: { type: 'object', properties: { ...pathArg, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  {
    name: 'edit_file',
    description: 'Replace one exact occurrence of old_text with new_text in a workspace text file.',
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
  memoryDir: string;
  /**
   * Runs a change to memory/ in turn with memory consolidation, which reads MEMORY.md, waits for the
   * model and writes it back: an edit made in between would otherwise be overwritten.
   */
  inMemoryTurn: <T>(task: () => Promise<T>) => Promise<T>;
  calculator: Calculator;
};

/** Runs `task` in the memory turn when `target` lies in memory/ (links followed; its folder must exist). */
async function inTurnFor<T>({ memoryDir, inMemoryTurn }: ToolContext, target: string, task: () => Promise<T>): Promise<T> {
  const [memory, folder] = await Promise.all([realpath(memoryDir), realpath(dirname(target))]);
  return folder === memory || folder.startsWith(memory + sep) ? inMemoryTurn(task) : task();
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
        const target = await resolveInWorkspace(workspace, path);
        await mkdir(dirname(target), { recursive: true });
        await inTurnFor(context, target, () => writeFileAtomic(target, content));
        return `Wrote ${content.length} characters to ${path}`;
      }
      case 'edit_file': {
        const { path, old_text, new_text } = argsSchemas.edit_file.parse(args);
        const target = await resolveInWorkspace(workspace, path);
        // Read and write in one turn, so the edit applies to the file as it is when written.
        return await inTurnFor(context, target, async () => {
          const text = await readFile(target, 'utf8');
          const count = text.split(old_text).length - 1;
          if (count === 0) return `Error: old_text was not found in ${path}`;
          if (count > 1) return `Error: old_text occurs ${count} times in ${path}; give more context so it is unique`;
          await writeFileAtomic(target, text.replace(old_text, () => new_text));
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
    if (error instanceof OutsideWorkspaceError) return `Error: access denied, ${error.message}`;
    if (error instanceof z.ZodError) return `Error: invalid arguments for ${name}: ${z.prettifyError(error)}`;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'Error: no such file or folder';
    return `Error: ${error instanceof Error ? error.message : String(error)}`;
  }
}
