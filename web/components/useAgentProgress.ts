'use client';

import { useEffect, useState } from 'react';
import { readSse } from '@/lib/client/sse.ts';

/** The gateway's state of the student's tutor (GET /agent/events). */
export type AgentProgressState = {
  state: 'absent' | 'queued' | 'creating' | 'starting' | 'waiting_for_health' | 'running' | 'stopping' | 'stopped' | 'failed';
  position?: number;
  reason?: string;
};

/**
 * Starts the tutor as soon as the app opens with a valid session (so it boots while the page
 * loads) and follows its start until it runs or fails. Null until the first state arrives.
 */
export function useAgentProgress(): AgentProgressState | null {
  const [progress, setProgress] = useState<AgentProgressState | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    // Both at once: the start must not wait for the events stream to open.
    void fetch('/api/agent/start', { method: 'POST', cache: 'no-store', signal }).catch(() => undefined);
    void (async () => {
      try {
        const response = await fetch('/api/agent/events', { cache: 'no-store', signal });
        if (!response.ok || !response.body) return;
        for await (const { event, data } of readSse(response.body)) {
          if (event === 'state') setProgress(JSON.parse(data) as AgentProgressState);
        }
      } catch {
        // Progress is a courtesy: the app's own requests still wait for the tutor and report failures.
      }
    })();
    return () => controller.abort();
  }, []);
  return progress;
}
