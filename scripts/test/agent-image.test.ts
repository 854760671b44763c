/** Which AGENT_IMAGE setup builds from `agent/`: only the reference agent's own name, so an administrator's image is never overwritten. */
import { expect, test } from 'bun:test';
import { isReferenceAgentImage } from '../lib/images.ts';

test('the default name, with or without :latest, is the reference agent that setup builds', () => {
  expect(isReferenceAgentImage('nanobot-tutor')).toBe(true);
  expect(isReferenceAgentImage('nanobot-tutor:latest')).toBe(true);
});

test('any other name or tag is the administrator\'s own image, which setup only checks for', () => {
  for (const image of ['nanobot-tutor:v2', 'school/nanobot-tutor', 'frictionless-nanobot', 'registry.local/nanobot-tutor:latest', '']) {
    expect(isReferenceAgentImage(image)).toBe(false);
  }
});
