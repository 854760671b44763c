'use client';

import { useEffect, useState } from 'react';

/** Roughly how long a cold start takes; the bar slows down as it nears the end instead of lying. */
const EXPECTED_MS = 15_000;

/** Shown while the gateway creates the student's tutor container (the first request can take a while). */
export function StartingTutor({ since, label = 'Starting your tutor…' }: { since: number; label?: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const elapsed = Math.max(0, now - since);
  const percent = Math.round(5 + 90 * (1 - Math.exp(-elapsed / (EXPECTED_MS / 2))));
  return (
    <div className="starting" role="status">
      <p className="starting-title">{label}</p>
      <p className="starting-detail">
        {elapsed < 8000 ? 'Setting up your personal workspace. This only takes a moment the first time.' : 'Almost there: your tutor is getting ready.'}
      </p>
      <div className="progress" role="progressbar" aria-label="Starting your tutor" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="progress-bar" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}
