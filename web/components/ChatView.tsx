'use client';

import { Fragment, useEffect, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from 'react';
import { IMAGE_TYPES, MAX_FILE_BYTES, MAX_FILE_LABEL, MAX_IMAGES, MAX_MESSAGE_CHARS, MAX_MESSAGE_LABEL, type Capabilities } from '@/lib/api/shared.ts';
import { uploadFiles } from '@/lib/client/api.ts';
import { fileUrl } from '@/lib/client/files.ts';
import { Markdown } from './Markdown.tsx';
import type { Message, Session } from './sessions.ts';
import { StartingTutor } from './StartingTutor.tsx';
import type { AskOptions, Pending } from './useTutor.ts';

type Props = {
  session: Session;
  pending: Pending | undefined;
  disabled: boolean;
  capabilities: Capabilities;
  onSend: (text: string, options: AskOptions) => void;
  onStop: () => void;
  /** Asks the question again in place, optionally with new wording (retry, regenerate, edit). */
  onReask: (questionId: string, text?: string) => void;
  /** Photos attached to the next question; kept by the caller per session, so they survive a switch of tabs. */
  attachments: Attachment[];
  onAttachments: (change: (current: Attachment[]) => Attachment[]) => void;
};

export type Attachment = { path: string; name: string };

const SUGGESTIONS = ['Explain the chain rule with an example', 'Quiz me on what we covered last time', 'Help me plan a week of revision'];

const nameOf = (path: string) => path.split('/').pop() ?? path;

/** How close to the end of the chat still counts as being at the end. */
const NEAR_END = 80;

/**
 * Whether the chat keeps following a growing answer after a scroll event. The app's own scroll to the
 * end is reported a frame later, when the answer may have grown far past it, so distance from the end
 * alone would read it as the student leaving: only a move up stops following, and the end resumes it.
 */
export function stillFollowing(following: boolean, previousTop: number, el: Pick<HTMLElement, 'scrollTop' | 'scrollHeight' | 'clientHeight'>): boolean {
  if (el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_END) return true;
  return el.scrollTop < previousTop ? false : following;
}

function Images({ paths, downloads }: { paths: string[]; downloads: boolean }) {
  return (
    <div className="message-images">
      {paths.map((path) =>
        downloads ? (
          <a key={path} href={fileUrl(path, true)} target="_blank" rel="noopener noreferrer" className="thumb">
            <img src={fileUrl(path, true)} alt={`Attached image ${nameOf(path)}`} />
          </a>
        ) : (
          <span key={path} className="thumb-name">
            {nameOf(path)}
          </span>
        ),
      )}
    </div>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  if (typeof navigator === 'undefined' || !navigator.clipboard) return null;
  return (
    <button
      type="button"
      className="link-button"
      onClick={() =>
        void navigator.clipboard.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 2000);
        })
      }
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

type AssistantProps = { message: Message; pending: Pending | undefined; busy: boolean; last: boolean; canRegenerate: boolean; onReask: () => void };

function AssistantMessage({ message, pending, busy, last, canRegenerate, onReask }: AssistantProps) {
  const waiting = message.status === 'streaming' && message.content === '';
  const finished = message.status !== 'streaming';
  return (
    <article className="message message-assistant" data-role="assistant" data-status={message.status ?? 'done'} aria-label="Tutor" aria-busy={message.status === 'streaming'}>
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
        {message.status === 'stopped' && <p className="message-note">Stopped: the answer above is what arrived before you pressed Stop.</p>}
        {message.status === 'error' && (
          <div className="message-error" role="alert">
            <span>{message.error}</span>
            <button type="button" className="button button-small" onClick={onReask} disabled={busy}>
              Retry
            </button>
          </div>
        )}
        {finished && message.status !== 'error' && (
          <div className="message-actions">
            {message.content && <CopyButton text={message.content} />}
            {last && canRegenerate && (
              <button type="button" className="link-button" onClick={onReask} disabled={busy}>
                Regenerate
              </button>
            )}
          </div>
        )}
      </div>
    </article>
  );
}

export function ChatView({ session, pending, disabled, capabilities, onSend, onStop, onReask, attachments, onAttachments }: Props) {
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const [attaching, setAttaching] = useState(false);
  const [attachError, setAttachError] = useState<string>();
  const scroller = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const stickToBottom = useRef(true);
  const lastScrollTop = useRef(0);
  const sendOrStop = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const last = session.messages.at(-1);
  const lastQuestion = session.messages.findLast((m) => m.role === 'user');
  const canAttach = capabilities.chatOptions;
  const atLimit = draft.length >= MAX_MESSAGE_CHARS;

  useEffect(() => {
    const el = scroller.current;
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [session.messages.length, last?.content, pending?.phase]);

  useEffect(() => {
    stickToBottom.current = true;
    // Arrow keys on the tabs (and the sessions list) choose a session while focus stays on them.
    if (!document.activeElement?.matches('[role="tab"], select')) input.current?.focus();
  }, [session.id]);

  // When an answer ends, Stop turns back into Send, disabled while the box is empty, and the focus on
  // it would drop to the page: the keyboard's place goes back to the message box instead.
  useEffect(() => {
    const focused = document.activeElement;
    if (!pending && (!focused || focused === document.body || focused === sendOrStop.current)) input.current?.focus();
  }, [pending]);

  // Photos and late layout grow the list after the scroll above (a reopened session with photos
  // opened well above its last message): follow the growth while the student is at the bottom.
  const hasMessages = session.messages.length > 0;
  useEffect(() => {
    const el = scroller.current;
    const content = list.current;
    if (!el || !content) return;
    const observer = new ResizeObserver(() => {
      if (stickToBottom.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(content);
    return () => observer.disconnect();
  }, [session.id, hasMessages]);

  async function attach(files: File[]) {
    if (!canAttach || files.length === 0) return;
    setAttachError(undefined);
    const images = files.filter((f) => IMAGE_TYPES.includes(f.type));
    if (images.length < files.length) setAttachError('Attach JPEG, PNG or WebP images (HEIC photos: share them as JPEG).');
    const fitting = images.filter((f) => f.size <= MAX_FILE_BYTES).slice(0, MAX_IMAGES - attachments.length);
    if (fitting.length < images.length) setAttachError(`At most ${MAX_IMAGES} images, each up to ${MAX_FILE_LABEL}.`);
    if (fitting.length === 0) return;
    setAttaching(true);
    try {
      const saved = await uploadFiles(fitting, () => undefined);
      onAttachments((current) => [...current, ...saved.map((path) => ({ path, name: nameOf(path) }))]);
    } catch (error) {
      setAttachError(error instanceof Error ? error.message : String(error));
    } finally {
      setAttaching(false);
      if (picker.current) picker.current.value = '';
    }
  }

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || pending || disabled || attaching) return;
    stickToBottom.current = true;
    if (editing) onReask(editing, text);
    else onSend(text, { images: attachments.map((a) => a.path) });
    setDraft('');
    setEditing(null);
    onAttachments(() => []);
    setAttachError(undefined);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === 'Escape' && editing) {
      cancelEdit();
    }
  }

  function startEdit(message: Message) {
    setEditing(message.id);
    setDraft(message.content);
    input.current?.focus();
  }

  function cancelEdit() {
    setEditing(null);
    setDraft('');
  }

  function onPaste(event: ClipboardEvent) {
    const files = Array.from(event.clipboardData.files);
    if (canAttach && files.some((f) => f.type.startsWith('image/'))) {
      event.preventDefault();
      void attach(files);
    }
  }

  function onDrop(event: DragEvent) {
    if (!canAttach || event.dataTransfer.files.length === 0) return;
    event.preventDefault();
    void attach(Array.from(event.dataTransfer.files));
  }

  return (
    <div className="chat" id="chat-panel" role="tabpanel" aria-labelledby={`tab-${session.id}`}>
      <div
        className="messages"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = stillFollowing(stickToBottom.current, lastScrollTop.current, el);
          lastScrollTop.current = el.scrollTop;
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
          <div className="message-list" aria-live="off" ref={list}>
            {session.messages.map((message, index) =>
              message.role === 'user' ? (
                <Fragment key={message.id}>
                  <article className="message message-user" data-role="user" aria-label="You">
                    <div className="user-turn">
                      {message.images?.length ? <Images paths={message.images} downloads={capabilities.downloads} /> : null}
                      {message.content && <div className="bubble">{message.content}</div>}
                    </div>
                  </article>
                  {/* Beside the question, not in it, so the question's text stays exactly what was asked. */}
                  {message.id === lastQuestion?.id && capabilities.chatOptions && !pending && (
                    <div className="message-actions message-actions-end">
                      <button type="button" className="link-button" aria-label="Edit your last question" onClick={() => startEdit(message)}>
                        Edit
                      </button>
                    </div>
                  )}
                </Fragment>
              ) : (
                <AssistantMessage
                  key={message.id}
                  message={message}
                  pending={pending?.answerId === message.id ? pending : undefined}
                  busy={Boolean(pending)}
                  last={message.id === last?.id}
                  canRegenerate={capabilities.chatOptions}
                  onReask={() => {
                    const question = session.messages[index - 1];
                    if (question?.role === 'user') onReask(question.id);
                  }}
                />
              ),
            )}
          </div>
        )}
      </div>
      <p className="visually-hidden" role="status">
        {pending ? (pending.phase === 'starting' ? 'Starting your tutor' : 'Your tutor is answering') : ''}
      </p>
      {(editing || attachments.length > 0 || attaching || attachError || atLimit) && (
        <div className="composer-extra">
          {editing && (
            <p className="composer-editing">
              Editing your last question: sending replaces it and its answer.{' '}
              <button type="button" className="link-button" onClick={cancelEdit}>
                Cancel edit
              </button>
            </p>
          )}
          {attachments.length > 0 && (
            <ul className="attachments" aria-label="Attached images">
              {attachments.map((a) => (
                <li key={a.path}>
                  {capabilities.downloads && <img src={fileUrl(a.path, true)} alt="" />}
                  <span>{a.name}</span>
                  <button type="button" className="icon-button" aria-label={`Remove ${a.name}`} onClick={() => onAttachments((list) => list.filter((x) => x.path !== a.path))}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          {attaching && (
            <p className="muted" role="status">
              Attaching…
            </p>
          )}
          {attachError && (
            <p className="form-error" role="alert">
              {attachError}
            </p>
          )}
          {/* The box takes no more, so a longer paste was cut off. */}
          {atLimit && (
            <p className="form-error" role="status">
              A message holds at most {MAX_MESSAGE_LABEL} characters.
            </p>
          )}
        </div>
      )}
      <form className="composer" onSubmit={submit} onDragOver={(e) => canAttach && e.preventDefault()} onDrop={onDrop}>
        {canAttach && (
          <>
            <input
              ref={picker}
              id={`attach-${session.id}`}
              className="visually-hidden"
              type="file"
              accept={IMAGE_TYPES.join(',')}
              multiple
              aria-label="Attach images"
              onChange={(e) => void attach(Array.from(e.target.files ?? []))}
            />
            <label htmlFor={`attach-${session.id}`} className="icon-button attach" title={`Attach an image (JPEG, PNG or WebP, up to ${MAX_FILE_LABEL})`}>
              <svg aria-hidden="true" viewBox="0 0 16 16" width="16" height="16">
                <path d="M10.5 4.5 5.3 9.7a1.5 1.5 0 0 0 2.1 2.1l5.4-5.4a3 3 0 0 0-4.2-4.2L3.2 7.6a4.5 4.5 0 0 0 6.4 6.4l4-4" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
              </svg>
            </label>
          </>
        )}
        <textarea
          ref={input}
          aria-label="Message"
          placeholder={disabled ? 'Connecting to your tutor…' : 'Ask your tutor anything…'}
          rows={1}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          maxLength={MAX_MESSAGE_CHARS}
          aria-describedby="composer-hint"
        />
        {pending ? (
          <button ref={sendOrStop} type="button" className="button button-stop" onClick={onStop}>
            <svg aria-hidden="true" viewBox="0 0 16 16" width="12" height="12">
              <rect x="3" y="3" width="10" height="10" rx="2" fill="currentColor" />
            </svg>
            Stop
          </button>
        ) : (
          <button ref={sendOrStop} type="submit" className="button button-primary" disabled={disabled || attaching || !draft.trim()}>
            {editing ? 'Send edit' : 'Send'}
          </button>
        )}
      </form>
      <p className="composer-hint" id="composer-hint">
        Enter to send · Shift+Enter for a new line · Math like <code>$E = mc^2$</code> renders
        {canAttach && ' · Paste or drop a photo (JPEG, PNG, WebP)'}
      </p>
    </div>
  );
}
