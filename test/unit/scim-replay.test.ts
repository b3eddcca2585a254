/**
 * The SCIM replay's keyed checks (test/kit/scim-replay.ts): a check keyed on a step name the
 * recording does not have (a renamed step) fails the replay instead of never running.
 */
import { expect, test } from 'vitest';
import { checkStepNames, loadRecording } from '../kit/scim-replay.js';

test.each(['okta', 'entra'])('%s: step names are unique; a check on a step it does not have is refused', (name) => {
  const recording = loadRecording(name);
  expect(() => checkStepNames(recording, Object.fromEntries(recording.steps.map((s) => [s.name, () => undefined])))).not.toThrow();
  const renamed = `${recording.steps[0]!.name} (renamed)`;
  expect(() => checkStepNames(recording, { [renamed]: () => undefined })).toThrow(`checks name steps the recording does not have: ${renamed}`);
  const twice = { ...recording, steps: [...recording.steps, recording.steps[0]!] };
  expect(() => checkStepNames(twice, {})).toThrow(`step names are not unique: ${recording.steps[0]!.name}`);
});
