/** The agent loop: one student message in, tool calls as needed, one answer out, the session saved. */
import { Calculator } from './calculator.ts';
import type { AgentConfig } from './config.ts';
import { buildSystemPrompt } from './context.ts';
import { NoProviderError } from './errors.ts';
import { LlmError, StoppedError, type ChatMessage, type ImageInput, type LlmProvider } from './llm/provider.ts';
import { consolidate, type MemoryOptions } from './memory.ts';
import { KeyedQueue } from './queue.ts';
import { isComplete, newMessage, SessionStore, titleFrom, type Session, type StoredMessage } from './sessions.ts';
import { runTool, TOOL_DEFINITIONS, type ToolContext } from './tools.ts';
import type { Uploads } from './uploads.ts';
import type { Layout } from './workspace.ts';

export type ReplyOptions = {
  userId: string;
  sessionId: string;
  message: string;
  /** Read and checked by the caller (`readImages`), with the workspace paths the session keeps. */
  images?: { paths: string[]; inputs: ImageInput[] };
  /** Drop the last user message and everything after it first ("edit and resend", "regenerate"). */
  replaceLastTurn?: boolean;
  onDelta?: (text: string) => void;
  /** Aborted when the client goes away or presses Stop: the answer so far is kept, marked `stopped`. */
  signal?: AbortSignal;
};

export type TutorOptions = {
  layout: Layout;
  config: AgentConfig;
  provider: LlmProvider | undefined;
  /** The agent's own by default; a test passes one already loaded (mathjs costs about a second of CPU per load). */
  calculator?: Calculator;
  /** The notes the model writes count towards the student's upload quota. */
  uploads: Uploads;
};

/**
 * The history the model sees: complete turns only, an image reduced to a note of its path. An empty
 * answer (a model that returned no text) is left out: Anthropic refuses a request holding an empty
 * message, which would make every later turn of the session fail.
 */
function contextOf(messages: StoredMessage[]): ChatMessage[] {
  return messages.filter((m) => isComplete(m) && (m.role === 'user' || m.content.trim() !== '')).map(({ role, content, images }) => ({
    role,
    content: images?.length ? `${content}\n\n[images sent with this message: ${images.join(', ')}]` : content,
  }));
}

/** The stored record of an answer that did not complete. */
function unfinished(error: unknown, content: string): StoredMessage {
  if (error instanceof StoppedError) return newMessage('assistant', content, { status: 'stopped' });
  if (error instanceof LlmError || error instanceof NoProviderError) {
    return newMessage('assistant', content, { status: 'error', error: error.message, code: error.code });
  }
  return newMessage('assistant', content, { status: 'error', error: 'The tutor failed unexpectedly. Try again.', code: 'internal_error' });
}

export class Tutor {
  readonly sessions: SessionStore;
  readonly #queue = new KeyedQueue();
  readonly #memory: MemoryOptions;
  readonly #tools: ToolContext;

  constructor(private readonly options: TutorOptions) {
    this.sessions = new SessionStore(options.layout.sessions);
    this.#tools = {
      workspace: options.layout.workspace,
      inMemoryTurn: (task) => this.#memoryQueue(task),
      uploads: options.uploads,
      calculator: options.calculator ?? new Calculator(),
    };
    this.#memory = {
      layout: options.layout,
      provider: options.provider,
      defaults: options.config.defaults,
      model: options.config.provider?.model ?? options.config.defaults.model,
    };
  }

  /** Resolves when every answer, clearing and consolidation under way has finished and been saved. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Answers one message; messages of one session are answered one at a time, in order. The message is
   * saved before the model is called and the answer after, also when it fails or is stopped.
   */
  reply(request: ReplyOptions): Promise<string> {
    return this.#inSession(request.userId, request.sessionId, () => this.#reply(request));
  }

  /** Consolidates a session into memory and empties it, so the next message starts a new conversation. */
  clear(userId: string, sessionId: string): Promise<void> {
    return this.#inSession(userId, sessionId, async () => {
      await this.#consolidateRest(userId, sessionId);
      await this.sessions.delete(userId, sessionId);
    });
  }

  /** Consolidates the session into memory first, as nanobot does, so closing a tab forgets nothing. */
  deleteSession(userId: string, sessionId: string): Promise<boolean> {
    return this.#inSession(userId, sessionId, async () => {
      await this.#consolidateRest(userId, sessionId);
      return this.sessions.delete(userId, sessionId);
    });
  }

  /** Returns false when there is no such session. */
  rename(userId: string, sessionId: string, title: string): Promise<boolean> {
    return this.#inSession(userId, sessionId, async () => {
      if (!(await this.sessions.exists(userId, sessionId))) return false;
      const session = await this.sessions.load(userId, sessionId);
      session.title = title;
      await this.sessions.save(session);
      return true;
    });
  }

  #inSession<T>(userId: string, sessionId: string, task: () => Promise<T>): Promise<T> {
    return this.#queue.run(`session:${userId}:${sessionId}`, task);
  }

  /**
   * MEMORY.md and HISTORY.md are shared by all sessions, so their updates (consolidations and the
   * model's own file edits) take turns. Always taken inside a session's turn, never the other way
   * round, so the two queues cannot wait on each other.
   */
  #memoryQueue<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.run('memory', task);
  }

  async #consolidateRest(userId: string, sessionId: string): Promise<void> {
    const session = await this.sessions.load(userId, sessionId);
    await this.#memoryQueue(() => consolidate(this.#memory, session.messages.slice(session.lastConsolidated)));
  }

  async #reply({ userId, sessionId, message, images, replaceLastTurn, onDelta, signal }: ReplyOptions): Promise<string> {
    const { config, layout, provider } = this.options;
    const { defaults } = config;
    const session = await this.sessions.load(userId, sessionId);
    if (replaceLastTurn) {
      const last = session.messages.findLastIndex((m) => m.role === 'user');
      if (last >= 0) {
        session.messages.length = last;
        session.lastConsolidated = Math.min(session.lastConsolidated, last);
      }
    }
    const history = contextOf(session.messages.slice(session.lastConsolidated)).slice(-defaults.memoryWindow);

    // Saved before the model is called, so a failure, a Stop or a crash never loses the question.
    if (!session.title) session.title = titleFrom(message);
    session.messages.push(newMessage('user', message, images?.paths.length ? { images: images.paths } : {}));
    await this.sessions.save(session);

    const progress = { text: '' };
    try {
      if (!provider) throw new NoProviderError();
      const system = await buildSystemPrompt(layout);
      const messages: ChatMessage[] = [
        { role: 'system', content: system },
        ...history,
        { role: 'user', content: message, ...(images?.inputs.length ? { images: images.inputs } : {}) },
      ];
      await this.#answer(provider, messages, progress, onDelta, signal);
    } catch (error) {
      session.messages.push(unfinished(error, progress.text));
      await this.sessions.save(session);
      throw error;
    }

    session.messages.push(newMessage('assistant', progress.text));
    await this.sessions.save(session);
    if (session.messages.length - session.lastConsolidated > defaults.memoryWindow) {
      // Queued behind this answer in the same session, so the next message sees the consolidated session.
      this.#inSession(userId, sessionId, () => this.#consolidateOlder(userId, sessionId)).catch((error: unknown) =>
        console.error(`memory consolidation failed: ${(error as Error).message}`),
      );
    }
    return progress.text;
  }

  /** Runs the model and its tool rounds; the answer grows in `progress.text`, so a failure keeps what came. */
  async #answer(
    provider: LlmProvider,
    messages: ChatMessage[],
    progress: { text: string },
    onDelta: ((text: string) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { config } = this.options;
    const { defaults } = config;
    const emit = (text: string) => {
      progress.text += text;
      onDelta?.(text);
    };
    for (let iteration = 0; ; iteration++) {
      // The last round offers no tools, so the loop ends with an answer after maxToolIterations tool rounds.
      const lastRound = iteration >= defaults.maxToolIterations;
      let roundText = '';
      const result = await provider.chat({
        messages,
        tools: lastRound ? undefined : TOOL_DEFINITIONS,
        model: config.provider?.model ?? defaults.model,
        maxTokens: defaults.maxTokens,
        temperature: defaults.temperature,
        signal,
        onDelta: onDelta
          ? (text) => {
              // Text of successive rounds is kept apart by a blank line, in the stream as in the answer.
              if (roundText === '' && progress.text !== '') emit('\n\n');
              roundText += text;
              emit(text);
            }
          : undefined,
      });
      if (!onDelta && result.content) {
        if (progress.text !== '') progress.text += '\n\n';
        progress.text += result.content;
      }
      if (result.toolCalls.length === 0 || lastRound) return;
      messages.push({ role: 'assistant', content: result.content || null, toolCalls: result.toolCalls });
      for (const call of result.toolCalls) {
        if (signal?.aborted) throw new StoppedError();
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: await runTool(this.#tools, call.name, call.arguments) });
      }
    }
  }

  /** nanobot keeps the newer half of the window in the session and moves the rest into memory. */
  async #consolidateOlder(userId: string, sessionId: string): Promise<void> {
    const session: Session = await this.sessions.load(userId, sessionId);
    const keep = Math.floor(this.options.config.defaults.memoryWindow / 2);
    const end = session.messages.length - keep;
    if (end <= session.lastConsolidated) return;
    await this.#memoryQueue(() => consolidate(this.#memory, session.messages.slice(session.lastConsolidated, end)));
    session.lastConsolidated = end;
    await this.sessions.save(session);
  }
}
