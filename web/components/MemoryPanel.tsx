'use client';

import { useCallback, useEffect, useState } from 'react';
import { getJson } from '@/lib/client/api.ts';
import { Markdown } from './Markdown.tsx';

type Memory = { memory: string; history: string };
const VIEWS = [
  { key: 'memory', label: 'MEMORY.md', empty: 'Your tutor has not noted anything about you yet.' },
  { key: 'history', label: 'HISTORY.md', empty: 'No history yet: it fills in as conversations are cleared or grow long.' },
] as const;

/** What the tutor remembers about the student (MEMORY.md) and the log of past sessions (HISTORY.md). */
export function MemoryPanel({ version }: { version: number }) {
  const [memory, setMemory] = useState<Memory | null>(null);
  const [error, setError] = useState<string>();
  const [view, setView] = useState<'memory' | 'history'>('memory');

  const load = useCallback(async () => {
    try {
      setMemory(await getJson<Memory>('/api/memory'));
      setError(undefined);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load, version]);

  const current = VIEWS.find((v) => v.key === view)!;
  const text = memory?.[view]?.trim();

  return (
    <section className="card memory" aria-labelledby="memory-heading">
      <div className="card-head">
        <h2 id="memory-heading">Memory</h2>
        <div className="segmented" role="group" aria-label="Memory file">
          {VIEWS.map((v) => (
            <button key={v.key} type="button" aria-pressed={view === v.key} onClick={() => setView(v.key)}>
              {v.label}
            </button>
          ))}
        </div>
      </div>
      <div className="memory-body">
        {error ? <p className="form-error">{error}</p> : memory === null ? <p className="muted">Loading…</p> : text ? <Markdown text={text} /> : <p className="muted">{current.empty}</p>}
      </div>
    </section>
  );
}
