'use client';

import { formatBytes, type Health, type LlmCheck, type Usage } from '@/lib/admin/view.ts';

type Props = { health?: Health; llm?: LlmCheck; llmChecking: boolean; usage?: Usage; onCheckLlm: () => void };

function Status({ ok, children }: { ok: boolean; children: string }) {
  return <span className={ok ? 'status-ok' : 'status-bad'}>{children}</span>;
}

function llmLine(llm: LlmCheck): string {
  if (!llm.configured) return llm.error ?? 'No provider is configured.';
  const what = `${llm.provider} · ${llm.model}`;
  if (llm.reachable) return `${what}: a one-token test call succeeded${llm.latencyMs === undefined ? '' : ` (${llm.latencyMs} ms)`}.`;
  return `${what}: the test call failed${llm.status ? ` (${llm.status})` : ''}: ${llm.error ?? 'no reason given'}`;
}

/** The system at a glance: the engine, the agent image, the disk under data/, the LLM provider, today's usage. */
export function HealthPanel({ health, llm, llmChecking, usage, onCheckLlm }: Props) {
  const disk = health?.disk;
  const freeShare = disk && disk.totalBytes > 0 ? Math.round((disk.freeBytes / disk.totalBytes) * 100) : undefined;
  return (
    <section className="card health" aria-labelledby="health-title">
      <h2 id="health-title">System health</h2>
      <dl className="health-list">
        <dt>Docker Engine</dt>
        <dd>{health ? <Status ok={health.engine.reachable}>{health.engine.reachable ? 'reachable' : 'not reachable'}</Status> : '…'}</dd>
        <dt>Tutor image{health ? ` ${health.engine.image}` : ''}</dt>
        <dd>{health ? <Status ok={health.engine.imagePresent}>{health.engine.imagePresent ? 'present' : 'missing'}</Status> : '…'}</dd>
        <dt>Disk free under data/</dt>
        <dd>
          {disk ? (
            <Status ok={(freeShare ?? 100) >= 10}>{`${formatBytes(disk.freeBytes)} of ${formatBytes(disk.totalBytes)} (${freeShare ?? '?'} %)`}</Status>
          ) : health ? (
            'unknown'
          ) : (
            '…'
          )}
        </dd>
        <dt>LLM provider</dt>
        <dd data-testid="llm-check">
          {llm ? <Status ok={llm.reachable}>{llmLine(llm)}</Status> : llmChecking ? 'checking…' : '…'}{' '}
          <button type="button" className="link-button" onClick={onCheckLlm} disabled={llmChecking}>
            {llmChecking ? 'Checking…' : 'Check again'}
          </button>
        </dd>
        {usage && (
          <>
            <dt>LLM usage today</dt>
            <dd>
              {`${(usage.today.promptTokens + usage.today.completionTokens).toLocaleString('en')} tokens in ${usage.today.requests.toLocaleString('en')} request${usage.today.requests === 1 ? '' : 's'}`}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
