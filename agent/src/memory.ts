/**
 * Memory consolidation as nanobot does it: older messages are summarised by the LLM, through a
 * `save_memory` tool call, into a dated paragraph appended to HISTORY.md and an updated MEMORY.md.
 */
import { appendFile, readFile } from 'node:fs/promises';
import type { AgentDefaults } from './config.ts';
import type { LlmProvider, ToolDefinition } from './llm/provider.ts';
import { isComplete, type StoredMessage } from './sessions.ts';
import { writeFileAtomic, type Layout } from './workspace.ts';

export const SAVE_MEMORY_TOOL: ToolDefinition = {
  name: 'save_memory',
  description: 'Save the memory consolidation result to persistent storage.',
  parameters: {
    type: 'object',
    properties: {
      history_entry: {
        type: 'string',
        description:
          'A paragraph (2-5 sentences) summarising the key events, topics and decisions. Start with a timestamp like [YYYY-MM-DD HH:MM].',
      },
      memory_update: {
        type: 'string',
        description: 'The full updated long-term memory as Markdown: every existing fact plus the new ones. Unchanged if nothing new.',
      },
    },
    required: ['history_entry', 'memory_update'],
  },
};

export type MemoryOptions = {
  layout: Layout;
  provider: LlmProvider | undefined;
  defaults: AgentDefaults;
  model: string;
};

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

function stamp(timestamp: string): string {
  return timestamp.slice(0, 16).replace('T', ' ');
}

function transcript(messages: StoredMessage[]): string {
  return messages.map((m) => `[${stamp(m.timestamp)}] ${m.role.toUpperCase()}: ${m.content}`).join('\n');
}

async function appendHistory(layout: Layout, entry: string): Promise<void> {
  await appendFile(layout.historyFile, `${entry.trim()}\n\n`);
}

async function summarise({ layout, provider, defaults, model }: MemoryOptions & { provider: LlmProvider }, messages: StoredMessage[]): Promise<void> {
  const memory = await readOrEmpty(layout.memoryFile);
  const result = await provider.chat({
    model,
    maxTokens: defaults.maxTokens,
    temperature: defaults.temperature,
    tools: [SAVE_MEMORY_TOOL],
    messages: [
      { role: 'system', content: 'You are a memory consolidation agent. Call the save_memory tool with your consolidation of the conversation.' },
      {
        role: 'user',
        content: `Process this conversation and call the save_memory tool with your consolidation.\n\n## Current Long-term Memory\n${memory || '(empty)'}\n\n## Conversation to Process\n${transcript(messages)}`,
      },
    ],
  });
  const call = result.toolCalls.find((c) => c.name === SAVE_MEMORY_TOOL.name);
  if (!call) throw new Error('the model did not call save_memory');
  const args = JSON.parse(call.arguments) as { history_entry?: unknown; memory_update?: unknown };
  if (typeof args.history_entry !== 'string' || !args.history_entry.trim()) throw new Error('save_memory had no history_entry');
  await appendHistory(layout, args.history_entry);
  if (typeof args.memory_update === 'string' && args.memory_update.trim() && args.memory_update !== memory) {
    await writeFileAtomic(layout.memoryFile, args.memory_update);
  }
}

/**
 * Moves `messages` into memory. When the LLM is missing or fails, the messages are archived verbatim
 * in HISTORY.md (nanobot's raw archive) so nothing the student said is lost.
 */
export async function consolidate(options: MemoryOptions, session: StoredMessage[]): Promise<void> {
  // Failed and stopped answers are not what the tutor said; the student's questions stay.
  const messages = session.filter(isComplete);
  if (messages.length === 0) return;
  if (options.provider) {
    try {
      await summarise({ ...options, provider: options.provider }, messages);
      return;
    } catch (error) {
      console.error(`memory consolidation failed, archiving raw messages: ${(error as Error).message}`);
    }
  }
  await appendHistory(options.layout, `[${stamp(new Date().toISOString())}] [RAW] ${messages.length} messages\n${transcript(messages)}`);
}
