/**
 * The docs against the code: every setting the gateway, the web app and the agent read is in a
 * settings table with the default the code has, no table lists a setting the code no longer reads,
 * the README opens with the two commands, every relative link and #anchor of the docs leads somewhere,
 * and nothing points at files a clone does not have.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../scripts/lib/images.ts';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The rows of every Markdown table in `text`: the first cell's `VARIABLE` names, and the second cell. */
function settingRows(text: string): Array<{ names: string[]; second: string }> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [first = '', second = ''] = line.split(/(?<!\\)\|/).slice(1).map((cell) => cell.trim());
      return { names: [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!), second };
    })
    .filter((row) => row.names.length > 0);
}

/** The rows of the table that follows `heading` in `text`, up to the next heading. */
function sectionRows(text: string, heading: string) {
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const end = text.indexOf('\n#', start + heading.length);
  return settingRows(text.slice(start, end < 0 ? undefined : end));
}

/** Names the code reads as `env.NAME` (or `process.env.NAME`) in these files. */
function envReads(files: string[]): Set<string> {
  return new Set(files.flatMap((file) => [...read(file).matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!)));
}

/** The repository's files as git lists them; none would make every check below pass for nothing. */
function trackedFiles(prefix = '.'): string[] {
  const files = Bun.spawnSync(['git', 'ls-files', prefix], { cwd: REPO_ROOT }).stdout.toString().split('\n').filter(Boolean);
  if (files.length === 0) throw new Error(`git lists no files under ${prefix}: run the tests in a git checkout`);
  return files;
}

const tracked = (prefix: string, pattern: RegExp) => trackedFiles(prefix).filter((f) => pattern.test(f) && !f.includes('/test/'));

describe('the gateway settings', () => {
  const source = read('gateway/src/settings.ts');
  const schema = source.slice(source.indexOf('z\n  .object({'), source.indexOf('.superRefine('));
  /** Each variable of the schema with the default written in it, as the docs would show it. */
  const defaults = new Map(
    [...schema.matchAll(/^ {4}([A-Z][A-Z0-9_]+): (.*),$/gm)].map(([, name, rule]) => {
      const value = /(?:default|positiveInt|nonNegativeInt|duration)\(([^()]*(?:\([^()]*\))?[^()]*)\)/.exec(rule!)?.[1];
      return [name!, value === undefined ? undefined : String(new Function(`return ${value.replaceAll('_', '')}`)())] as const;
    }),
  );
  const documented = [...settingRows(read('docs/architecture.md')), ...settingRows(read('gateway/README.md'))];
  const stackRows = sectionRows(read('README.md'), '### `.env`');

  test('the schema was read (the test would prove nothing otherwise)', () => {
    expect(defaults.size).toBeGreaterThan(50);
    expect(defaults.get('MAX_BODY_BYTES')).toBe('33554432');
    expect(defaults.get('IDLE_TIMEOUT')).toBe('30m');
  });

  test('every one is in the table of docs/architecture.md or gateway/README.md', () => {
    const names = new Set(documented.flatMap((row) => row.names));
    expect([...defaults.keys()].filter((name) => !names.has(name))).toEqual([]);
  });

  test('each table shows the default the code has', () => {
    const wrong: string[] = [];
    for (const { names, second } of [...documented, ...stackRows]) {
      const values = names.length > 1 ? second.split(/,\s*/) : [second];
      names.forEach((name, i) => {
        const expected = defaults.get(name);
        const shown = values[i]?.match(/^`([^`]*)`/)?.[1];
        if (expected && shown !== undefined && shown !== expected) wrong.push(`${name}: documented ${shown}, code ${expected}`);
      });
    }
    expect(wrong).toEqual([]);
  });

  test('the gateway tables list nothing the gateway no longer reads', () => {
    // Read by dockerode, not by settings.ts.
    const elsewhere = new Set(['DOCKER_HOST']);
    const rows = [...sectionRows(read('docs/architecture.md'), "## The gateway's settings"), ...sectionRows(read('gateway/README.md'), '## Settings')];
    expect(rows.flatMap((row) => row.names).filter((name) => !defaults.has(name) && !elsewhere.has(name))).toEqual([]);
  });
});

describe('the web app and agent settings', () => {
  test.each([
    ['web', /\.tsx?$/, '## Settings', ['PORT']],
    ['agent', /src\/.*\.ts$/, '## Settings', []],
  ] as const)('%s: every variable it reads is in its README table, and the table lists no other', (folder, files, heading, runtime) => {
    const reads = envReads(tracked(folder, files));
    const rows = sectionRows(read(`${folder}/README.md`), heading).flatMap((row) => row.names);
    expect([...reads].filter((name) => !rows.includes(name))).toEqual([]);
    // Read by the runtime (Next.js) rather than the app's code.
    expect(rows.filter((name) => !reads.has(name) && !(runtime as readonly string[]).includes(name))).toEqual([]);
  });
});

describe('the README', () => {
  test('opens with the two commands, and CI runs the second one', () => {
    const readme = read('README.md');
    const commands = /```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.split('\n').filter(Boolean).map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(commands).toEqual(['bun run setup', 'bun run test']);
    expect(read('.ci/run')).toContain('\nbun run test ');
  });

  test('its .env table names every variable docker-compose.yml takes from .env', () => {
    const names = new Set(sectionRows(read('README.md'), '### `.env`').flatMap((row) => row.names));
    const compose = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect([...compose].filter((name) => !names.has(name))).toEqual([]);
  });

  test('names each .env variable once', () => {
    const names = sectionRows(read('README.md'), '### `.env`').flatMap((row) => row.names);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });
});

/** `NAME: value` of one service's environment in a Compose file, by service name. */
function serviceEnvironment(file: string, service: string): Map<string, string> {
  const text = read(file);
  const start = text.indexOf(`\n  ${service}:\n`);
  if (start < 0) throw new Error(`no service ${service} in ${file}`);
  const next = text.slice(start + 1).search(/\n {2}[a-z][\w-]*:\n|\n[a-z]/);
  const block = text.slice(start, next < 0 ? undefined : start + 1 + next);
  return new Map([...block.matchAll(/^ {6}([A-Z][A-Z0-9_]*): (.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

describe('the Swarm stack', () => {
  /** What compose passes that the stack does not, on purpose. */
  const COMPOSE_ONLY = [
    // The stack signs students in with local accounts only (the README's Swarm section).
    'LOCAL_AUTH_MODE', 'SUPABASE_URL', 'GATEWAY_TRUST_EMAIL_HEADER',
    // Rootless Podman only (docs/podman.md).
    'AGENT_UID', 'AGENT_GID',
    // Prometheus reaches no gateway inside the stack, which publishes it nowhere.
    'METRICS_TOKEN',
  ];
  const compose = serviceEnvironment('docker-compose.yml', 'gateway');
  const stack = serviceEnvironment('deploy/swarm/stack.yml', 'gateway');

  test('passes the gateway every setting compose does, each secret as a file', () => {
    const missing = [...compose.keys()].filter((name) => !COMPOSE_ONLY.includes(name) && !stack.has(name) && !stack.has(`${name}_FILE`));
    expect(missing).toEqual([]);
  });

  test('with the same defaults, but for the agents\' network (the stack\'s own overlay network)', () => {
    const defaultOf = (value: string | undefined) => /^\$\{[A-Z0-9_]+:-(.*)\}$/.exec(value ?? '')?.[1];
    const differing = [...compose].filter(([name, value]) => name !== 'NETWORK_NAME' && defaultOf(value) !== undefined && stack.has(name) && defaultOf(stack.get(name)) !== undefined && defaultOf(stack.get(name)) !== defaultOf(value));
    expect(differing).toEqual([]);
  });
});

/** The text of a Markdown file without its fenced code blocks and inline code spans, where a `[x](y)` is no link. */
function proseOf(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .filter((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return false;
      }
      return !fenced;
    })
    .join('\n')
    .replace(/(`+)[^`]*?\1/g, '');
}

/** GitHub's anchor for a heading: its text as rendered, lower-cased, spaces to `-`, punctuation but `-` and `_` dropped. */
const slugOf = (heading: string) =>
  heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? undefined : /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = slugOf(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

describe('the Markdown links', () => {
  const docs = trackedFiles().filter((f) => f === 'README.md' || /^docs\/[^/]+\.md$/.test(f) || /^[^/]+\/README\.md$/.test(f));
  /** Every relative link (and image) of these files: `[text](path#anchor)`, `[text](#anchor)`. */
  const links = docs.flatMap((file) =>
    [...proseOf(read(file)).matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => {
        const [path = '', anchor] = target.split('#');
        return { file, target, path: path ? join(dirname(file), decodeURIComponent(path)) : file, anchor };
      }),
  );

  test('were found (the test would prove nothing otherwise)', () => {
    expect(docs).toContain('README.md');
    expect(docs).toContain('docs/architecture.md');
    expect(docs).toContain('gateway/README.md');
    expect(links.filter((l) => l.anchor !== undefined).length).toBeGreaterThan(20);
    expect(links.filter((l) => l.path !== l.file).length).toBeGreaterThan(20);
  });

  test('each points at a file of the repository', () => {
    expect(links.filter((l) => !existsSync(join(REPO_ROOT, l.path))).map((l) => `${l.file}: ${l.target}`)).toEqual([]);
  });

  test('each #anchor names a heading of its target', () => {
    const anchors = new Map<string, Set<string>>();
    const broken = links.filter(({ path, anchor }) => {
      if (anchor === undefined || !path.endsWith('.md') || !existsSync(join(REPO_ROOT, path))) return false;
      if (!anchors.has(path)) anchors.set(path, anchorsOf(read(path)));
      return !anchors.get(path)!.has(decodeURIComponent(anchor));
    });
    expect(broken.map((l) => `${l.file}: ${l.target}`)).toEqual([]);
  });

  test('headings get the anchors GitHub gives them', () => {
    expect(slugOf("The gateway's settings")).toBe('the-gateways-settings');
    expect(slugOf('`config.json`: the LLM, with the keys only the gateway sees')).toBe('configjson-the-llm-with-the-keys-only-the-gateway-sees');
    expect(slugOf('The shared password (`LOCAL_AUTH_MODE=shared`)')).toBe('the-shared-password-local_auth_modeshared');
    expect([...anchorsOf('# A\n```\n# not a heading\n```\n## A\n')]).toEqual(['a', 'a-1']);
  });
});

test('no file points at the design notes outside the repository, which a clone does not have', () => {
  const outside = ['../' + 'shared', 'DESIGN' + '.md', 'STYLE' + '.md'];
  const files = trackedFiles().filter((f) => !/\.(png|pdf|lock)$/.test(f));
  const hits = files.filter((file) => {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    return outside.some((name) => text.includes(name));
  });
  expect(hits).toEqual([]);
});
