/** `status`: what this agent would run with, as nanobot's own `status` command shows it; never the key itself. */
import { stat } from 'node:fs/promises';
import { loadConfig } from './config.ts';
import { layoutOf } from './workspace.ts';

const exists = (path: string) => stat(path).then(() => true, () => false);

/** An apiBase may carry credentials (`https://user:secret@host`); only scheme, host and path are shown. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(not a valid URL)';
  }
}

export async function statusReport(home: string): Promise<string> {
  const layout = layoutOf(home);
  const config = await loadConfig(layout.configFile);
  const lines = [
    'nanobot tutor status',
    `Config: ${layout.configFile} (${(await exists(layout.configFile)) ? 'found' : 'missing'})`,
    `Workspace: ${layout.workspace} (${(await exists(layout.workspace)) ? 'found' : 'not created yet'})`,
    `Model: ${config.defaults.model}`,
  ];
  const { provider } = config;
  if (provider) {
    lines.push(
      `Provider: ${provider.name}${provider.apiBase ? ` (${safeUrl(provider.apiBase)})` : ''}`,
      `API key: ${provider.keyConfigured ? 'configured' : 'not set (a local server)'}`,
    );
  } else {
    lines.push('Provider: none configured', 'API key: not set');
  }
  lines.push(`LLM timeout: ${config.defaults.llmTimeoutSeconds} s (first token ${config.defaults.llmFirstTokenSeconds} s)`);
  return lines.join('\n');
}
