/** The chat's state: sessions (tabs) with their messages, changed only through these actions. */
import { failedAnswerMessage } from '@/lib/api/shared.ts';

export type Message = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  /** Only on assistant messages that are not a finished answer. */
  status?: 'streaming' | 'stopped' | 'error';
  error?: string;
  /** Workspace paths of images sent with a question (`files_uploaded/…`). */
  images?: string[];
  /** On a failed answer: the agent kept the question, so a retry replaces that turn instead of adding one. */
  stored?: boolean;
};

export type Session = { id: string; title: string; messages: Message[] };

export type SessionsState = { sessions: Session[]; activeId: string | null };

export type SessionsAction =
  | { type: 'restore'; sessions: Session[]; activeId: string }
  | { type: 'add'; session: Session }
  | { type: 'remove'; id: string }
  | { type: 'activate'; id: string }
  | { type: 'append'; sessionId: string; messages: Message[] }
  | { type: 'delta'; sessionId: string; messageId: string; text: string }
  | { type: 'update'; sessionId: string; messageId: string; patch: Partial<Message> }
  | { type: 'drop'; sessionId: string; messageIds: string[] }
  /** Removes a message and everything after it (edit, regenerate, retry of a stored turn). */
  | { type: 'truncate'; sessionId: string; fromMessageId: string }
  | { type: 'rename'; sessionId: string; title: string }
  | { type: 'clear'; sessionId: string };

export const NEW_SESSION_TITLE = 'New session';

export function titleFrom(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 40 ? `${line.slice(0, 39)}…` : line || NEW_SESSION_TITLE;
}

function mapSession(state: SessionsState, id: string, change: (session: Session) => Session): SessionsState {
  return { ...state, sessions: state.sessions.map((s) => (s.id === id ? change(s) : s)) };
}

function mapMessage(state: SessionsState, sessionId: string, messageId: string, change: (m: Message) => Message): SessionsState {
  return mapSession(state, sessionId, (s) => ({ ...s, messages: s.messages.map((m) => (m.id === messageId ? change(m) : m)) }));
}

export function sessionsReducer(state: SessionsState, action: SessionsAction): SessionsState {
  switch (action.type) {
    case 'restore':
      return { sessions: action.sessions, activeId: action.activeId };
    case 'add':
      return { sessions: [...state.sessions, action.session], activeId: action.session.id };
    case 'remove': {
      const index = state.sessions.findIndex((s) => s.id === action.id);
      const sessions = state.sessions.filter((s) => s.id !== action.id);
      const neighbour = sessions[Math.min(Math.max(index, 0), sessions.length - 1)];
      return { sessions, activeId: state.activeId === action.id ? (neighbour?.id ?? null) : state.activeId };
    }
    case 'activate':
      return { ...state, activeId: action.id };
    case 'append':
      return mapSession(state, action.sessionId, (s) => ({
        ...s,
        title: s.messages.length === 0 && s.title === NEW_SESSION_TITLE && action.messages[0] ? titleFrom(action.messages[0].content) : s.title,
        messages: [...s.messages, ...action.messages],
      }));
    case 'delta':
      return mapMessage(state, action.sessionId, action.messageId, (m) => ({ ...m, content: m.content + action.text }));
    case 'update':
      return mapMessage(state, action.sessionId, action.messageId, (m) => ({ ...m, ...action.patch }));
    case 'drop':
      return mapSession(state, action.sessionId, (s) => ({ ...s, messages: s.messages.filter((m) => !action.messageIds.includes(m.id)) }));
    case 'truncate':
      return mapSession(state, action.sessionId, (s) => {
        const index = s.messages.findIndex((m) => m.id === action.fromMessageId);
        return index < 0 ? s : { ...s, messages: s.messages.slice(0, index) };
      });
    case 'rename':
      return mapSession(state, action.sessionId, (s) => ({ ...s, title: action.title }));
    case 'clear':
      // The agent deletes a cleared session, title and all: the tab is a new, empty one again, as the agent sees it.
      return mapSession(state, action.sessionId, (s) => ({ ...s, title: NEW_SESSION_TITLE, messages: [] }));
  }
}

/**
 * The real nanobot image reports a failed model call as an ordinary answer (its agent loop replies
 * "Sorry, I encountered an error: …", its LiteLLM provider "Error calling LLM: …"). Such an answer
 * is shown as what it is, with a Retry.
 */
const ANSWERED_FAILURE = /^(Sorry, I encountered an error|Error calling LLM)\b/;

export function isAnsweredFailure(text: string): boolean {
  return ANSWERED_FAILURE.test(text.trim());
}

export const ANSWERED_FAILURE_NOTE = 'Your tutor’s AI model ran into a problem with this answer.';

type StoredMessage = {
  id?: string | number;
  role: string;
  content: unknown;
  status?: string;
  error?: string;
  /** The agent's code for a failed answer (`llm_failed`, …); its `error` text is for operators. */
  code?: string;
  images?: unknown;
};

/** The gateway's session list, as the agent stores it (`session_id` in the reference agent, `id` in the contract). */
export type StoredSession = {
  id?: string;
  session_id?: string;
  title?: string;
  updated_at?: string;
  messages?: StoredMessage[];
};

function fromStoredMessage(m: StoredMessage, id: string): Message | null {
  if (m.role !== 'user' && m.role !== 'assistant') return null;
  const content = typeof m.content === 'string' ? m.content : '';
  const images = Array.isArray(m.images) ? m.images.filter((p): p is string => typeof p === 'string') : [];
  if (m.role === 'user') return content || images.length ? { id, role: 'user', content, ...(images.length ? { images } : {}) } : null;
  if (m.status === 'error') return { id, role: 'assistant', content, status: 'error', error: failedAnswerMessage(m.code, m.error), stored: true };
  if (m.status === 'stopped') return { id, role: 'assistant', content, status: 'stopped' };
  if (!content) return null;
  if (isAnsweredFailure(content)) return { id, role: 'assistant', content, status: 'error', error: ANSWERED_FAILURE_NOTE, stored: true };
  return { id, role: 'assistant', content };
}

export function fromStored(stored: StoredSession): Session {
  const sessionId = stored.id ?? stored.session_id ?? '';
  const messages = (stored.messages ?? []).flatMap((m, index) => fromStoredMessage(m, `${sessionId}-${m.id ?? index}`) ?? []);
  const firstUser = messages.find((m) => m.role === 'user');
  return { id: sessionId, title: stored.title?.trim() || (firstUser ? titleFrom(firstUser.content) : NEW_SESSION_TITLE), messages };
}
