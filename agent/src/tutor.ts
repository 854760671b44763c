/** The agent loop: one student message in, tool calls as needed, one answer out, the session saved. */
import { NO_PROVIDER_MESSAGE, type AgentConfig } from './config.ts';
import { buildSystemPrompt } from './context.ts';
import type { ChatMessage, LlmProvider } from './llm/provider.ts';
import { consolidate, type MemoryOptions } from './memory.ts';
import { KeyedQueue } from './queue.ts';
import { newMessage, SessionStore, titleFrom, type Session } from './sessions.ts';
import { runTool, TOOL_DEFINITIONS, type ToolContext } from './tools.ts';
import type { Layout } from './workspace.ts';

export class NoProviderError extends Error {
  constructor() {
    super(NO_PROVIDER_MESSAGE);
  }
}

export type ReplyOptions = {
  userId: string;
  sessionId: string;
  message: string;
  onDelta?: (text: string) => void;
};

export type TutorOptions = {
  layout: Layout;
  config: AgentConfig;
  provider: LlmProvider | undefined;
};

export class Tutor {
  readonly sessions: SessionStore;
  readonly #queue = new KeyedQueue();
  readonly #memory: MemoryOptions;
  readonly #tools: ToolContext;

  constructor(private readonly options: TutorOptions) {
    this.sessions = new SessionStore(options.layout.sessions);
    this.#tools = {
      workspace: options.layout.workspace,
      memoryDir: options.layout.memoryDir,
      inMemoryTurn: (task) => this.#memoryQueue(task),
    };
    this.#memory = {
      layout: options.layout,
      provider: options.provider,
      defaults: options.config.defaults,
      model: options.config.provider?.model ?? options.config.defaults.model,
    };
  }

  get hasProvider(): boolean {
    return this.options.provider !== undefined;
  }

  /** Resolves when every answer, clearing and consolidation under way has finished and been saved. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Answers one message; messages of one session are answered one at a time, in order. */
  reply(request: ReplyOptions): Promise<string> {
    const provider = this.options.provider;
    if (!provider) return Promise.reject(new NoProviderError());
    return this.#inSession(request.userId, request.sessionId, () => this.#reply(provider, request));
  }

  /** Consolidates a session into memory and empties it, so the next message starts a new conversation. */
  clear(userId: string, sessionId: string): Promise<void> {
    return this.#inSession(userId, sessionId, async () => {
      const session = await this.sessions.load(userId, sessionId);
      await this.#memoryQueue(() => consolidate(this.#memory, session.messages.slice(session.lastConsolidated)));
      await this.sessions.delete(userId, sessionId);
    });
  }

  deleteSession(userId: string, sessionId: string): Promise<boolean> {
    return this.#inSession(userId, sessionId, () => this.sessions.delete(userId, sessionId));
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

  async #reply(provider: LlmProvider, { userId, sessionId, message, onDelta }: ReplyOptions): Promise<string> {
    const { config, layout } = this.options;
    const { defaults } = config;
    const session = await this.sessions.load(userId, sessionId);
    const history: ChatMessage[] = session.messages
      .slice(session.lastConsolidated)
      .slice(-defaults.memoryWindow)
      .map(({ role, content }) => ({ role, content }));
    const messages: ChatMessage[] = [
      { role: 'system', content: await buildSystemPrompt(layout) },
      ...history,
      { role: 'user', content: message },
    ];

    let answer = '';
    const emit = (text: string) => {
      answer += text;
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
        onDelta: onDelta
          ? (text) => {
              // Text of successive rounds is kept apart by a blank line, in the stream as in the answer.
              if (roundText === '' && answer !== '') emit('\n\n');
              roundText += text;
              emit(text);
            }
          : undefined,
      });
      if (!onDelta && result.content) {
        if (answer !== '') answer += '\n\n';
        answer += result.content;
      }
      if (result.toolCalls.length === 0 || lastRound) break;
      messages.push({ role: 'assistant', content: result.content || null, toolCalls: result.toolCalls });
      for (const call of result.toolCalls) {
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: await runTool(this.#tools, call.name, call.arguments) });
      }
    }

    if (!session.title) session.title = titleFrom(message);
    session.messages.push(newMessage('user', message), newMessage('assistant', answer));
    await this.sessions.save(session);
    if (session.messages.length - session.lastConsolidated > defaults.memoryWindow) {
      // Queued behind this answer in the same session, so the next message sees the consolidated session.
      this.#inSession(userId, sessionId, () => this.#consolidateOlder(userId, sessionId)).catch((error: unknown) =>
        console.error(`memory consolidation failed: ${(error as Error).message}`),
      );
    }
    return answer;
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
