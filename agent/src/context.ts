/** The system prompt, built as nanobot builds it: identity, the bootstrap files, then long-term memory. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from './workspace.ts';

const BOOTSTRAP_FILES = ['AGENTS.md', 'SOUL.md', 'USER.md', 'TOOLS.md', 'IDENTITY.md'];

async function readIfPresent(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

function identity(layout: Layout, now: Date): string {
  return `# nanobot tutor 🎓

You are a tutor: an AI assistant that helps one student learn. You can read the student's uploaded material and write notes with your tools.

## Current Time
${now.toISOString().slice(0, 16).replace('T', ' ')} (UTC)

## Workspace
Your workspace is at: ${layout.workspace}
- Student's uploads: files_uploaded/
- Long-term memory: memory/MEMORY.md
- History log: memory/HISTORY.md (summaries of past conversations)

Tool paths are relative to the workspace. Answer in Markdown; write mathematics in LaTeX between $…$ or $$…$$.`;
}

export async function buildSystemPrompt(layout: Layout, now = new Date()): Promise<string> {
  const parts = [identity(layout, now)];
  for (const name of BOOTSTRAP_FILES) {
    const content = await readIfPresent(join(layout.workspace, name));
    if (content) parts.push(`## ${name}\n\n${content}`);
  }
  const memory = await readIfPresent(layout.memoryFile);
  if (memory) parts.push(`# Memory\n\n## Long-term Memory\n${memory}`);
  return parts.join('\n\n---\n\n');
}
