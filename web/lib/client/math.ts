/**
 * What a `$` can start, tried in this order: a backslash escape, `$$…$$`, a `$$` not closed yet (a
 * display formula still streaming in), inline maths as Pandoc reads it (no space just inside either
 * dollar, no digit right after the closing one), or a lone dollar. So "$5 and $10" stays money
 * while `$2x + 3 = 7$` is maths.
 */
const DOLLARS = /\\[\s\S]|\$\$[\s\S]+?\$\$|\$\$|\$[^\s$](?:[^$]*[^\s$])?\$(?!\d)|\$/g;

/**
 * Tutors write maths as `$…$` and `$$…$$` (the agent's AGENTS.md asks for them) and often as \( … \)
 * and \[ … \]. Outside code, this gives remark-math what it understands: `$$…$$` alone on a line and
 * \[ … \] become display maths, \( … \) inline maths, and a dollar that starts no maths (an amount)
 * is escaped so it stays text.
 */
export function normalizeMath(markdown: string): string {
  return markdown
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            // remark-math reads `$$…$$` on one line as inline maths; its display form is fenced.
            .replace(/^([ \t]*)\$\$([^$\n]+)\$\$[ \t]*$/gm, (_, indent: string, tex: string) => `${indent}$$\n${indent}${tex.trim()}\n${indent}$$`)
            .replace(/\\\[([\s\S]+?)\\\]/g, (_, tex: string) => `\n$$\n${tex.trim()}\n$$\n`)
            .replace(/\\\(([\s\S]+?)\\\)/g, (_, tex: string) => `$${tex.trim()}$`)
            .replace(DOLLARS, (match) => (match === '$' ? '\\$' : match)),
    )
    .join('');
}
