'use client';

import { useCallback, useState } from 'react';
import { AgentProgress } from './AgentProgress.tsx';
import { Brand } from './Brand.tsx';
import { ChatView, type Attachment } from './ChatView.tsx';
import { FilesPanel } from './FilesPanel.tsx';
import { MemoryPanel } from './MemoryPanel.tsx';
import { SessionTabs } from './SessionTabs.tsx';
import { StartingTutor } from './StartingTutor.tsx';
import { useAgentProgress } from './useAgentProgress.ts';
import { useTutor } from './useTutor.ts';

/** `admin`: the user is in ADMIN_EMAILS, so the top bar links to the admin page. */
type Props = { email: string; localAuth: boolean; admin?: boolean };

export function TutorApp({ email, localAuth, admin = false }: Props) {
  const [workspaceVersion, setWorkspaceVersion] = useState(0);
  const [panelOpen, setPanelOpen] = useState(false);
  const [notice, setNotice] = useState<string>();
  // Per session and outside the chat view, which is made anew for each tab: photos attached in one
  // tab wait there while the student looks at another.
  const [attachments, setAttachments] = useState<Record<string, Attachment[]>>({});
  const refreshWorkspace = useCallback(() => setWorkspaceVersion((v) => v + 1), []);
  const tutor = useTutor({ onAnswered: refreshWorkspace });
  const agent = useAgentProgress();
  const active = tutor.sessions.find((s) => s.id === tutor.activeId);
  const ready = tutor.connection.phase === 'ready';

  async function signOut() {
    await fetch('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
    window.location.assign('/login');
  }

  async function act(action: () => Promise<void>) {
    setNotice(undefined);
    try {
      await action();
    } catch (error) {
      setNotice(error instanceof Error ? error.message : String(error));
    }
  }

  async function clearConversation() {
    if (!active || !window.confirm('Clear this conversation? Your tutor keeps what it learned in its memory.')) return;
    await act(async () => {
      await tutor.clearConversation(active.id);
      refreshWorkspace();
    });
  }

  async function closeSession(id: string) {
    const session = tutor.sessions.find((s) => s.id === id);
    const question = `Close “${session?.title}”? Your tutor keeps what it learned in its memory, and the conversation is deleted.`;
    if (session?.messages.length && !window.confirm(question)) return;
    await act(async () => {
      await tutor.closeSession(id);
      // The agent consolidated the session into MEMORY.md and HISTORY.md.
      refreshWorkspace();
    });
  }

  async function renameSession() {
    if (!active) return;
    const title = window.prompt('Name this session', active.title)?.trim();
    if (!title || title === active.title) return;
    await act(() => tutor.renameSession(active.id, title.slice(0, 120)));
  }

  return (
    <div className="app">
      <a href="#chat-panel" className="skip-link">
        Skip to chat
      </a>
      <header className="topbar">
        <Brand />
        <div className="topbar-right">
          {localAuth && (
            <span className="badge" title="Signed in with the shared password (LOCAL_AUTH_MODE=shared): anyone who has it can sign in as anyone. The default, local accounts, gives each student their own.">
              Local sign-in
            </span>
          )}
          <span className="user-email" title="Signed in as">
            {email}
          </span>
          {admin && (
            <a className="button button-ghost" href="/admin">
              Admin
            </a>
          )}
          <button type="button" className="button button-ghost panel-toggle" aria-expanded={panelOpen} aria-controls="side-panel" onClick={() => setPanelOpen((o) => !o)}>
            Files &amp; memory
          </button>
          <button type="button" className="button button-ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main className="workspace">
        <section className="chat-column" aria-label="Chat">
          <SessionTabs
            sessions={tutor.sessions}
            activeId={tutor.activeId}
            busyIds={Object.keys(tutor.pending)}
            onActivate={tutor.activate}
            onClose={(id) => void closeSession(id)}
            onNew={tutor.newSession}
          />
          {notice && (
            <p className="notice notice-error banner" role="alert">
              {notice}
            </p>
          )}
          {!ready && (
            <div className="connection">
              {tutor.connection.phase === 'failed' ? (
                <div className="message-error" role="alert">
                  <span>{tutor.connection.error}</span>
                  <button type="button" className="button button-small" onClick={() => void tutor.restore()}>
                    Retry
                  </button>
                </div>
              ) : agent && agent.state !== 'running' && agent.state !== 'failed' ? (
                <AgentProgress progress={agent} />
              ) : tutor.connection.phase === 'starting' ? (
                <StartingTutor since={tutor.connection.since} />
              ) : (
                <p className="muted" role="status">
                  Connecting to your tutor…
                </p>
              )}
            </div>
          )}
          {ready && active && (
            <>
              <ChatView
                key={active.id}
                session={active}
                pending={tutor.pending[active.id]}
                disabled={!ready}
                capabilities={tutor.capabilities}
                onSend={(text, options) => void tutor.ask(active.id, text, options)}
                onStop={() => tutor.stop(active.id)}
                onReask={(questionId, text) => tutor.reask(active.id, questionId, text)}
                attachments={attachments[active.id] ?? []}
                onAttachments={(change) => setAttachments((all) => ({ ...all, [active.id]: change(all[active.id] ?? []) }))}
              />
              <div className="chat-actions">
                <button type="button" className="link-button" onClick={() => void closeSession(active.id)}>
                  Close session
                </button>
                {tutor.capabilities.renameSessions && (
                  <button type="button" className="link-button" onClick={() => void renameSession()} disabled={active.messages.length === 0}>
                    Rename session
                  </button>
                )}
                <button type="button" className="link-button link-danger" onClick={() => void clearConversation()} disabled={active.messages.length === 0 || Boolean(tutor.pending[active.id])}>
                  Clear conversation
                </button>
              </div>
            </>
          )}
        </section>
        <aside id="side-panel" className={`side${panelOpen ? ' side-open' : ''}`} aria-label="Files and memory">
          {ready ? (
            <>
              <FilesPanel initialFiles={tutor.initialFiles} version={workspaceVersion} onChanged={refreshWorkspace} capabilities={tutor.capabilities} />
              <MemoryPanel version={workspaceVersion} />
            </>
          ) : (
            <p className="muted side-waiting">Your files and memory appear once your tutor is ready.</p>
          )}
        </aside>
      </main>
    </div>
  );
}
