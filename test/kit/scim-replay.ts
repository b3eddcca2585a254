/**
 * Replays a documented SCIM client sequence (test/fixtures/scim/*.json) against a real
 * gateway: {{placeholders}} are filled from earlier responses, each response is checked
 * with toMatchObject (a subset of the body) and its status. Extra checks are keyed by step
 * name, and every key must name a step of the recording: renaming a step fails the replay.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ScimClient, ScimResponse } from './scim.js';

export interface ReplayStep {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  expect: { status: number; body?: unknown };
  capture?: Record<string, string>;
}

export interface Recording {
  client: string;
  sources: string[];
  notes: string;
  steps: ReplayStep[];
}

export const loadRecording = (name: string): Recording =>
  JSON.parse(readFileSync(new URL(`../fixtures/scim/${name}.json`, import.meta.url), 'utf8')) as Recording;

const fill = (value: unknown, vars: Record<string, string>): unknown => {
  if (typeof value === 'string') return value.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`placeholder {{${k}}} used before it was captured`);
    return vars[k]!;
  });
  if (Array.isArray(value)) return value.map((v) => fill(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, vars)]));
  return value;
};

const at = (body: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], body);

/** A check run after the step of that name, with its response and the values captured so far. */
export type StepChecks = Record<string, (response: ScimResponse, vars: Record<string, string>) => Promise<void> | void>;

/** Step names are unique, and every check names a step (else it would never run). */
export const checkStepNames = (recording: Recording, checks: StepChecks): void => {
  const names = recording.steps.map((s) => s.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new Error(`${recording.client}: step names are not unique: ${repeated.join(', ')}`);
  const unknown = Object.keys(checks).filter((k) => !names.includes(k));
  if (unknown.length > 0) throw new Error(`${recording.client}: checks name steps the recording does not have: ${unknown.join(', ')}`);
};

/** Runs every step in order, then the check keyed by its name if any. Returns the captured values. */
export const replay = async (client: ScimClient, recording: Recording, checks: StepChecks = {}): Promise<Record<string, string>> => {
  checkStepNames(recording, checks);
  const vars: Record<string, string> = {};
  for (const step of recording.steps) {
    const r = await client.request(step.method, fill(step.path, vars) as string, step.body === undefined ? undefined : fill(step.body, vars));
    expect(r.status, `${recording.client} — ${step.name}: ${r.text}`).toBe(step.expect.status);
    if (r.status !== 204) expect(r.contentType, step.name).toBe('application/scim+json; charset=utf-8');
    if (step.expect.body !== undefined) expect(r.body, `${recording.client} — ${step.name}`).toMatchObject(fill(step.expect.body, vars) as object);
    for (const [name, path] of Object.entries(step.capture ?? {})) {
      const v = at(r.body, path);
      expect(typeof v, `${step.name}: capture ${name}`).toBe('string');
      vars[name] = v as string;
    }
    await checks[step.name]?.(r, vars);
  }
  return vars;
};
