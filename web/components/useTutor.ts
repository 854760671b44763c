'use client';

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { ApiError, getJson, newSessionId, sessionHeaders, streamChat } from '@/lib/client/api.ts';
import { fromStored, NEW_SESSION_TITLE, sessionsReducer, type Message, type StoredSession } from './sessions.ts';

const ACTIVE_KEY = 'nanobot.activeSession';
/** How long a request keeps retrying while the gateway says the tutor is still starting. */
const STARTING_PATIENCE_MS = 120_000;

export type Connection = { phase: 'connecting' | 'starting' | 'ready' | 'failed'; since: number; error?: string };

export type Pending = { controller: AbortController; answerId: string; phase: 'thinking' | 'starting' | 'streaming'; since: number };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const messageId = () => `local-${newSessionId()}`;

function rememberActive(id: string | null) {
  try {
    if (id) localStorage.setItem(ACTIVE_KEY, id);
  } catch {
    // Private windows may refuse storage; the newest session is a fine default then.
  }
}

/** Everything the tutor screen does: sessions restored from the gateway, sending, stopping, retrying. */
export function useTutor({ onAnswered }: { onAnswered: () => void }) {
  const [state, dispatch] = useReducer(sessionsReducer, { sessions: [], activeId: null });
  const [connection, setConnection] = useState<Connection>({ phase: 'connecting', since: Date.now() });
  /** The workspace listing fetched with the sessions, so files show up together with the transcript. */
  const [initialFiles, setInitialFiles] = useState<string[] | null>(null);
  const [pending, setPending] = useState<Record<string, Pending>>({});
  const pendingRef = useRef(pending);
  pendingRef.current = pending;

  const setSessionPending = useCallback((sessionId: string, value: Pending | null) => {
    setPending((current) => {
      const next = { ...current };
      if (value) next[sessionId] = value;
      else delete next[sessionId];
      return next;
    });
  }, []);

  const restore = useCallback(async () => {
    const started = Date.now();
    setConnection({ phase: 'connecting', since: started });
    // The first call for a student may create their tutor's container; say so once it takes a moment.
    const slow = setTimeout(() => setConnection({ phase: 'starting', since: started }), 1200);
    try {
      while (true) {
        try {
          const { sessions } = await getJson<{ sessions: StoredSession[] }>('/api/sessions');
          const { files } = await getJson<{ files: string[] }>('/api/files');
          // The gateway lists newest first; tabs read left to right, oldest first, like newly opened ones.
          const restored = sessions.map(fromStored).reverse();
          if (restored.length === 0) restored.push({ id: newSessionId(), title: NEW_SESSION_TITLE, messages: [] });
          const stored = (() => {
            try {
              return localStorage.getItem(ACTIVE_KEY);
            } catch {
              return null;
            }
          })();
          const active = restored.find((s) => s.id === stored) ?? restored.at(-1)!;
          dispatch({ type: 'restore', sessions: restored, activeId: active.id });
          setInitialFiles(files);
          setConnection({ phase: 'ready', since: Date.now() });
          return;
        } catch (error) {
          if (error instanceof ApiError && error.code === 'unauthenticated') {
            window.location.assign('/login');
            return;
          }
          const starting = error instanceof ApiError && error.code === 'starting';
          if (!starting || Date.now() - started > STARTING_PATIENCE_MS) {
            setConnection({ phase: 'failed', since: Date.now(), error: error instanceof Error ? error.message : String(error) });
            return;
          }
          setConnection({ phase: 'starting', since: started });
          await sleep((error.retryAfter ?? 2) * 1000);
        }
      }
    } finally {
      clearTimeout(slow);
    }
  }, []);

  useEffect(() => {
    void restore();
  }, [restore]);

  useEffect(() => rememberActive(state.activeId), [state.activeId]);

  const ask = useCallback(
    async (sessionId: string, text: string) => {
      if (pendingRef.current[sessionId]) return;
      const answerId = messageId();
      const controller = new AbortController();
      const since = Date.now();
      dispatch({
        type: 'append',
        sessionId,
        messages: [
          { id: messageId(), role: 'user', content: text },
          { id: answerId, role: 'assistant', content: '', status: 'streaming' },
        ],
      });
      setSessionPending(sessionId, { controller, answerId, phase: 'thinking', since });
      let streamed = false;
      try {
        while (true) {
          try {
            const answer = await streamChat(
              text,
              sessionId,
              (piece) => {
                if (!streamed) setSessionPending(sessionId, { controller, answerId, phase: 'streaming', since });
                streamed = true;
                dispatch({ type: 'delta', sessionId, messageId: answerId, text: piece });
              },
              controller.signal,
            );
            dispatch({ type: 'update', sessionId, messageId: answerId, patch: { content: answer, status: undefined } });
            return;
          } catch (error) {
            if (controller.signal.aborted) {
              dispatch({ type: 'update', sessionId, messageId: answerId, patch: { status: 'stopped' } });
              return;
            }
            if (error instanceof ApiError && error.code === 'unauthenticated') {
              window.location.assign('/login');
              return;
            }
            const starting = error instanceof ApiError && error.code === 'starting';
            if (starting && !streamed && Date.now() - since < STARTING_PATIENCE_MS) {
              setSessionPending(sessionId, { controller, answerId, phase: 'starting', since });
              await sleep((error.retryAfter ?? 2) * 1000, controller.signal);
              continue;
            }
            const message = error instanceof Error ? error.message : 'Something went wrong. Please try again.';
            dispatch({ type: 'update', sessionId, messageId: answerId, patch: { status: 'error', error: message } });
            return;
          }
        }
      } finally {
        setSessionPending(sessionId, null);
        onAnswered();
      }
    },
    [onAnswered, setSessionPending],
  );

  const retry = useCallback(
    (sessionId: string, failed: Message) => {
      const session = state.sessions.find((s) => s.id === sessionId);
      const index = session?.messages.findIndex((m) => m.id === failed.id) ?? -1;
      const question = index > 0 ? session?.messages[index - 1] : undefined;
      if (!question || question.role !== 'user') return;
      dispatch({ type: 'drop', sessionId, messageIds: [question.id, failed.id] });
      void ask(sessionId, question.content);
    },
    [ask, state.sessions],
  );

  const stop = useCallback((sessionId: string) => pendingRef.current[sessionId]?.controller.abort(), []);

  const newSession = useCallback(() => {
    dispatch({ type: 'add', session: { id: newSessionId(), title: NEW_SESSION_TITLE, messages: [] } });
  }, []);

  const closeSession = useCallback(
    async (sessionId: string) => {
      pendingRef.current[sessionId]?.controller.abort();
      const session = state.sessions.find((s) => s.id === sessionId);
      if (session && session.messages.length > 0) {
        await getJson('/api/sessions', { method: 'DELETE', headers: sessionHeaders(sessionId) });
      }
      dispatch({ type: 'remove', id: sessionId });
      if (state.sessions.length <= 1) newSession();
    },
    [newSession, state.sessions],
  );

  const clearConversation = useCallback(async (sessionId: string) => {
    await getJson('/api/conversations', { method: 'DELETE', headers: sessionHeaders(sessionId) });
    dispatch({ type: 'clear', sessionId });
  }, []);

  return {
    ...state,
    activate: (id: string) => dispatch({ type: 'activate', id }),
    connection,
    initialFiles,
    restore,
    pending,
    ask,
    retry,
    stop,
    newSession,
    closeSession,
    clearConversation,
  };
}
