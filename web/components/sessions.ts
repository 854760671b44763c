/** The chat's state: sessions (tabs) with their messages, changed only through these actions. */
export type Message = {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  /** Only on assistant messages that are not a finished answer. */
  status?: 'streaming' | 'stopped' | 'error';
  error?: string;
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
    case 'clear':
      return mapSession(state, action.sessionId, (s) => ({ ...s, messages: [] }));
  }
}

/** The gateway's session list, as the agent stores it. */
export type StoredSession = {
  session_id: string;
  title?: string;
  updated_at?: string;
  messages?: { id?: string | number; role: string; content: unknown }[];
};

export function fromStored(stored: StoredSession): Session {
  const messages = (stored.messages ?? []).flatMap((m, index): Message[] =>
    (m.role === 'user' || m.role === 'assistant') && typeof m.content === 'string' && m.content
      ? [{ id: `${stored.session_id}-${m.id ?? index}`, role: m.role, content: m.content }]
      : [],
  );
  const firstUser = messages.find((m) => m.role === 'user');
  return { id: stored.session_id, title: stored.title?.trim() || (firstUser ? titleFrom(firstUser.content) : NEW_SESSION_TITLE), messages };
}
