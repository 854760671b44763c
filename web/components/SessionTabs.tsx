'use client';

import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { Session } from './sessions.ts';

type Props = {
  sessions: Session[];
  activeId: string | null;
  busyIds: string[];
  onActivate: (id: string) => void;
  onClose: (id: string) => void;
  onNew: () => void;
};

/** Beyond this many tabs a list of all sessions appears too, so none is hard to reach. */
const MENU_AFTER = 4;

/**
 * Session tabs with the WAI-ARIA tabs keyboard model: arrows move, Home/End jump, Delete closes.
 * The active tab is always scrolled into view.
 */
export function SessionTabs({ sessions, activeId, busyIds, onActivate, onClose, onNew }: Props) {
  const list = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!activeId) return;
    list.current?.querySelector<HTMLElement>(`[data-session="${CSS.escape(activeId)}"]`)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [activeId, sessions.length]);

  function onKeyDown(event: KeyboardEvent, index: number) {
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: sessions.length - 1 };
    if (event.key === 'Delete') {
      event.preventDefault();
      onClose(sessions[index]!.id);
      return;
    }
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const next = sessions[(target + sessions.length) % sessions.length];
    if (!next) return;
    onActivate(next.id);
    list.current?.querySelector<HTMLElement>(`[data-session="${CSS.escape(next.id)}"]`)?.focus();
  }

  return (
    <div className="tabs-bar">
      <div className="tabs" role="tablist" aria-label="Sessions" ref={list}>
        {sessions.map((session, index) => {
          const active = session.id === activeId;
          return (
            <div key={session.id} className={`tab${active ? ' tab-active' : ''}`}>
              <button
                type="button"
                role="tab"
                id={`tab-${session.id}`}
                data-session={session.id}
                aria-selected={active}
                aria-controls="chat-panel"
                tabIndex={active ? 0 : -1}
                className="tab-label"
                onClick={() => onActivate(session.id)}
                onKeyDown={(event) => onKeyDown(event, index)}
                title={session.title}
                aria-keyshortcuts="Delete"
              >
                {busyIds.includes(session.id) && <span className="tab-dot" aria-hidden="true" />}
                {session.title}
              </button>
              {/* A tablist may hold only tabs, so this mouse shortcut stays out of the accessibility tree;
                  keyboard and screen-reader users close with Delete or the "Close session" button. */}
              <button type="button" className="tab-close" aria-hidden="true" tabIndex={-1} title="Close session" onClick={() => onClose(session.id)}>
                <svg aria-hidden="true" viewBox="0 0 16 16" width="12" height="12">
                  <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
                </svg>
              </button>
            </div>
          );
        })}
      </div>
      {sessions.length > MENU_AFTER && (
        <select className="session-menu" aria-label="All sessions" value={activeId ?? ''} onChange={(e) => onActivate(e.target.value)}>
          {sessions.map((session) => (
            <option key={session.id} value={session.id}>
              {session.title}
            </option>
          ))}
        </select>
      )}
      <button type="button" className="button button-ghost new-session" onClick={onNew}>
        <svg aria-hidden="true" viewBox="0 0 16 16" width="14" height="14">
          <path d="M8 3v10M3 8h10" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
        New session
      </button>
    </div>
  );
}
