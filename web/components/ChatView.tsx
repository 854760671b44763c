'use client';

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { Markdown } from './Markdown.tsx';
import type { Message, Session } from './sessions.ts';
import { StartingTutor } from './StartingTutor.tsx';
import type { Pending } from './useTutor.ts';

type Props = {
  session: Session;
  pending: Pending | undefined;
  disabled: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
  onRetry: (message: Message) => void;
};

const SUGGESTIONS = ['Explain the chain rule with an example', 'Quiz me on what we covered last time', 'Help me plan a week of revision'];

function AssistantMessage({ message, pending, onRetry }: { message: Message; pending: Pending | undefined; onRetry: () => void }) {
  const waiting = message.status === 'streaming' && message.content === '';
  return (
    <article className="message message-assistant" data-role="assistant" aria-label="Tutor" aria-busy={message.status === 'streaming'}>
      <div className="avatar" aria-hidden="true">
        T
      </div>
      <div className="bubble">
        {waiting && pending?.phase === 'starting' && <StartingTutor since={pending.since} />}
        {waiting && pending?.phase !== 'starting' && (
          <span className="typing" role="status" aria-label="Your tutor is thinking">
            <span />
            <span />
            <span />
          </span>
        )}
        {message.content && <Markdown text={message.content} />}
        {message.status === 'stopped' && <p className="message-note">Stopped.</p>}
        {message.status === 'error' && (
          <div className="message-error" role="alert">
            <span>{message.error}</span>
            <button type="button" className="button button-small" onClick={onRetry}>
              Retry
            </button>
          </div>
        )}
      </div>
    </article>
  );
}

export function ChatView({ session, pending, disabled, onSend, onStop, onRetry }: Props) {
  const [draft, setDraft] = useState('');
  const scroller = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const stickToBottom = useRef(true);
  const last = session.messages.at(-1);

  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [session.messages.length, last?.content, pending?.phase]);

  useEffect(() => {
    stickToBottom.current = true;
    input.current?.focus();
  }, [session.id]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || pending || disabled) return;
    stickToBottom.current = true;
    onSend(text);
    setDraft('');
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <div className="chat" id="chat-panel" role="tabpanel" aria-labelledby={`tab-${session.id}`}>
      <div
        className="messages"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
        }}
      >
        {session.messages.length === 0 ? (
          <div className="empty">
            <h2>What shall we work on?</h2>
            <p>Ask a question, paste an exercise, or upload your notes and ask about them.</p>
            <div className="suggestions">
              {SUGGESTIONS.map((s) => (
                <button key={s} type="button" className="suggestion" onClick={() => (setDraft(s), input.current?.focus())}>
                  {s}
                </button>
              ))}
            </div>
          </div>
        ) : (
          <div className="message-list" aria-live="off">
            {session.messages.map((message) =>
              message.role === 'user' ? (
                <article key={message.id} className="message message-user" data-role="user" aria-label="You">
                  <div className="bubble">{message.content}</div>
                </article>
              ) : (
                <AssistantMessage key={message.id} message={message} pending={pending?.answerId === message.id ? pending : undefined} onRetry={() => onRetry(message)} />
              ),
            )}
          </div>
        )}
      </div>
      <p className="visually-hidden" role="status">
        {pending ? (pending.phase === 'starting' ? 'Starting your tutor' : 'Your tutor is answering') : ''}
      </p>
      <form className="composer" onSubmit={submit}>
        <textarea
          ref={input}
          aria-label="Message"
          placeholder={disabled ? 'Connecting to your tutor…' : 'Ask your tutor anything…'}
          rows={1}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby="composer-hint"
        />
        {pending ? (
          <button type="button" className="button button-stop" onClick={onStop}>
            <svg aria-hidden="true" viewBox="0 0 16 16" width="12" height="12">
              <rect x="3" y="3" width="10" height="10" rx="2" fill="currentColor" />
            </svg>
            Stop
          </button>
        ) : (
          <button type="submit" className="button button-primary" disabled={disabled || !draft.trim()}>
            Send
          </button>
        )}
      </form>
      <p className="composer-hint" id="composer-hint">
        Enter to send · Shift+Enter for a new line · Math like <code>$E = mc^2$</code> renders
      </p>
    </div>
  );
}
