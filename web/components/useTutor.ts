'use client';

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { Capabilities } from '@/lib/api/shared.ts';
import { ApiError, getJson, newSessionId, sendJson, sessionHeaders, streamChat } from '@/lib/client/api.ts';
import { whileStarting } from '@/lib/client/retry.ts';
import { ANSWERED_FAILURE_NOTE, fromStored, isAnsweredFailure, NEW_SESSION_TITLE, sessionsReducer, type Message, type StoredSession } from './sessions.ts';

const ACTIVE_KEY = 'nanobot.activeSession';

export type Connection = { phase: 'connecting' | 'starting' | 'ready' | 'failed'; since: number; error?: string };

export type Pending = { controller: AbortController; answerId: string; phase: 'thinking' | 'starting' | 'streaming'; since: number };

export const NO_CAPABILITIES: Capabilities = { downloads: false, manageFiles: false, renameSessions: false, chatOptions: false, export: false };

export type AskOptions = { images?: string[]; replaceLastTurn?: boolean };

const messageId = () => `local-${newSessionId()}`;

function rememberActive(id: string | null) {
  try {
    if (id) localStorage.setItem(ACTIVE_KEY, id);
  } catch {
    // Private windows may refuse storage; the newest session is a fine default then.
  }
}

function recallActive(): string | null {
  try {
    return localStorage.getItem(ACTIVE_KEY);
  } catch {
    return null;
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : 'Something went wrong. Please try again.');

/** Everything the tutor screen does: sessions restored from the gateway, sending, stopping, retrying. */
export function useTutor({ onAnswered }: { onAnswered: () => void }) {
  const [state, dispatch] = useReducer(sessionsReducer, { sessions: [], activeId: null });
  const [connection, setConnection] = useState<Connection>({ phase: 'connecting', since: Date.now() });
  /** The workspace listing fetched with the sessions, so files show up together with the transcript. */
  const [initialFiles, setInitialFiles] = useState<string[] | null>(null);
  const [capabilities, setCapabilities] = useState<Capabilities>(NO_CAPABILITIES);
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
      const { sessions, files } = await whileStarting(
        async () => ({
          sessions: (await getJson<{ sessions: StoredSession[] }>('/api/sessions')).sessions,
          files: (await getJson<{ files: string[] }>('/api/files')).files,
        }),
        { onStarting: () => setConnection({ phase: 'starting', since: started }) },
      );
      // The gateway lists newest first; tabs read left to right, oldest first, like newly opened ones.
      const restored = sessions
        .map(fromStored)
        .filter((s) => s.id)
        .reverse();
      if (restored.length === 0) restored.push({ id: newSessionId(), title: NEW_SESSION_TITLE, messages: [] });
      const remembered = recallActive();
      const active = restored.find((s) => s.id === remembered) ?? restored.at(-1)!;
      dispatch({ type: 'restore', sessions: restored, activeId: active.id });
      setInitialFiles(files);
      setConnection({ phase: 'ready', since: Date.now() });
      getJson<Capabilities>('/api/capabilities').then(setCapabilities, () => setCapabilities(NO_CAPABILITIES));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') window.location.assign('/login');
      else setConnection({ phase: 'failed', since: Date.now(), error: messageOf(error) });
    } finally {
      clearTimeout(slow);
    }
  }, []);

  useEffect(() => {
    void restore();
  }, [restore]);

  useEffect(() => rememberActive(state.activeId), [state.activeId]);

  const ask = useCallback(
    async (sessionId: string, text: string, options: AskOptions = {}) => {
      if (pendingRef.current[sessionId]) return;
      const answerId = messageId();
      const controller = new AbortController();
      const since = Date.now();
      dispatch({
        type: 'append',
        sessionId,
        messages: [
          { id: messageId(), role: 'user', content: text, ...(options.images?.length ? { images: options.images } : {}) },
          { id: answerId, role: 'assistant', content: '', status: 'streaming' },
        ],
      });
      setSessionPending(sessionId, { controller, answerId, phase: 'thinking', since });
      let streamed = false;
      try {
        const answer = await whileStarting(
          () =>
            streamChat(
              { message: text, images: options.images, replaceLastTurn: options.replaceLastTurn },
              sessionId,
              (piece) => {
                if (!streamed) setSessionPending(sessionId, { controller, answerId, phase: 'streaming', since });
                streamed = true;
                dispatch({ type: 'delta', sessionId, messageId: answerId, text: piece });
              },
              controller.signal,
            ),
          { signal: controller.signal, onStarting: () => setSessionPending(sessionId, { controller, answerId, phase: 'starting', since }) },
        );
        const failed = isAnsweredFailure(answer);
        dispatch({
          type: 'update',
          sessionId,
          messageId: answerId,
          patch: failed ? { content: answer, status: 'error', error: ANSWERED_FAILURE_NOTE, stored: true } : { content: answer, status: undefined },
        });
      } catch (error) {
        if (controller.signal.aborted) {
          dispatch({ type: 'update', sessionId, messageId: answerId, patch: { status: 'stopped' } });
        } else if (error instanceof ApiError && error.code === 'unauthenticated') {
          window.location.assign('/login');
        } else {
          const stored = error instanceof ApiError && error.stored;
          dispatch({ type: 'update', sessionId, messageId: answerId, patch: { status: 'error', error: messageOf(error), stored } });
        }
      } finally {
        setSessionPending(sessionId, null);
        onAnswered();
      }
    },
    [onAnswered, setSessionPending],
  );

  /**
   * Asks a question again in place (retry, regenerate, edit). The agent replaces its last turn only
   * when it holds that question (a stored failure, a finished or stopped answer); a question that
   * never reached it is simply sent again.
   */
  const reask = useCallback(
    (sessionId: string, questionId: string, text?: string) => {
      const session = state.sessions.find((s) => s.id === sessionId);
      const index = session?.messages.findIndex((m) => m.id === questionId) ?? -1;
      const question = session?.messages[index];
      if (!question || question.role !== 'user') return;
      const answer = session?.messages[index + 1];
      const agentHasIt = !answer || answer.status !== 'error' || answer.stored === true;
      dispatch({ type: 'truncate', sessionId, fromMessageId: question.id });
      void ask(sessionId, text ?? question.content, { images: question.images, replaceLastTurn: agentHasIt });
    },
    [ask, state.sessions],
  );

  const stop = useCallback((sessionId: string) => pendingRef.current[sessionId]?.controller.abort(), []);

  const newSession = useCallback(() => {
    dispatch({ type: 'add', session: { id: newSessionId(), title: NEW_SESSION_TITLE, messages: [] } });
  }, []);

  /** Deletes the session; the agent consolidates it into memory first (DELETE /sessions). */
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

  const renameSession = useCallback(async (sessionId: string, title: string) => {
    await sendJson('/api/sessions', 'PATCH', { title }, sessionHeaders(sessionId));
    dispatch({ type: 'rename', sessionId, title });
  }, []);

  const clearConversation = useCallback(async (sessionId: string) => {
    await getJson('/api/conversations', { method: 'DELETE', headers: sessionHeaders(sessionId) });
    dispatch({ type: 'clear', sessionId });
  }, []);

  return {
    ...state,
    activate: (id: string) => dispatch({ type: 'activate', id }),
    connection,
    initialFiles,
    capabilities,
    restore,
    pending,
    ask,
    reask,
    stop,
    newSession,
    closeSession,
    renameSession,
    clearConversation,
  };
}
