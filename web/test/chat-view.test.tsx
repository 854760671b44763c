/** What the chat shows, rendered with react-dom/server: maths and money, the composer's limits and photos. */
import { describe, expect, test } from 'bun:test';
import { renderToStaticMarkup } from 'react-dom/server';
import type { Attachment } from '../components/ChatView.tsx';
import { Markdown } from '../components/Markdown.tsx';
import { renderChat } from './render-chat.tsx';

const chat = (attachments: Attachment[] = []) => renderChat({ id: 's', title: 'New session', messages: [] }, attachments);

describe('answers with maths and money', () => {
  test('"Price is $5 and $10" keeps its dollar signs and is no formula', () => {
    const html = renderToStaticMarkup(<Markdown text="Price is $5 and $10 dollars." />);
    expect(html).toBe('<div class="markdown"><p>Price is $5 and $10 dollars.</p></div>');
  });

  test('`$…$` is still inline maths, as the tutor is told to write it', () => {
    const html = renderToStaticMarkup(<Markdown text="Solve $2x + 3 = 7$ for $x$." />);
    expect(html.match(/class="katex"/g)).toHaveLength(2);
    expect(html).not.toContain('katex-display');
  });

  test('`$$…$$` on a line of its own is display maths, like \\[ … \\]', () => {
    const html = renderToStaticMarkup(<Markdown text={'The area is\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$'} />);
    expect(html).toContain('katex-display');
    expect(html).toContain('display="block"');
  });
});

describe('the composer', () => {
  test('the message box takes at most the chat route’s limit', () => {
    expect(chat()).toContain('maxLength="100000"');
  });

  test('shows the photos attached to this session’s next question, which the caller keeps per session', () => {
    const html = chat([{ path: 'files_uploaded/homework.png', name: 'homework.png' }]);
    expect(html).toContain('aria-label="Attached images"');
    expect(html).toContain('aria-label="Remove homework.png"');
  });
});
