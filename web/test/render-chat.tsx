/** The chat view rendered to HTML with react-dom/server, as a student with every capability sees it. */
import { renderToStaticMarkup } from 'react-dom/server';
import { ChatView, type Attachment } from '../components/ChatView.tsx';
import type { Session } from '../components/sessions.ts';
import type { Capabilities } from '../lib/api/shared.ts';

const capabilities: Capabilities = { downloads: true, manageFiles: true, renameSessions: true, chatOptions: true, export: true };
const noop = () => {};

export function renderChat(session: Session, attachments: Attachment[] = []): string {
  return renderToStaticMarkup(
    <ChatView
      session={session}
      pending={undefined}
      disabled={false}
      capabilities={capabilities}
      onSend={noop}
      onStop={noop}
      onReask={noop}
      attachments={attachments}
      onAttachments={noop}
    />,
  );
}
