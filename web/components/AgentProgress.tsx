'use client';

import type { AgentProgressState } from './useAgentProgress.ts';

const STEPS: { states: AgentProgressState['state'][]; label: string }[] = [
  { states: ['absent', 'stopped', 'stopping', 'queued'], label: 'Waiting for a free spot' },
  { states: ['creating'], label: 'Setting up your workspace' },
  { states: ['starting'], label: 'Starting your tutor' },
  { states: ['waiting_for_health'], label: 'Getting your tutor ready' },
];

function lineOf({ state, position }: AgentProgressState): string {
  if (state === 'queued') return position && position > 1 ? `Many students are starting right now: you are number ${position} in line.` : 'You are next in line.';
  if (state === 'stopping') return 'Your tutor was resting; waking it up.';
  return STEPS.find((s) => s.states.includes(state))?.label ?? 'Starting your tutor';
}

/** The real steps of the tutor's start, as the gateway reports them, instead of a silent wait. */
export function AgentProgress({ progress }: { progress: AgentProgressState }) {
  const current = Math.max(0, STEPS.findIndex((s) => s.states.includes(progress.state)));
  const percent = Math.round(((current + 0.5) / STEPS.length) * 100);
  return (
    <div className="starting" role="status" data-agent-state={progress.state}>
      <p className="starting-title">Starting your tutor…</p>
      <p className="starting-detail">{lineOf(progress)}</p>
      <div className="progress" role="progressbar" aria-label="Starting your tutor" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="progress-bar" style={{ width: `${percent}%` }} />
      </div>
      <ol className="starting-steps">
        {STEPS.map((step, i) => (
          <li key={step.label} data-step={i < current ? 'done' : i === current ? 'current' : 'next'}>
            {step.label}
          </li>
        ))}
      </ol>
    </div>
  );
}
