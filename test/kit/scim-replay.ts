/**
 * Replays a documented SCIM client sequence (test/fixtures/scim/*.json) against a real
 * gateway: {{placeholders}} are filled from earlier responses, each response is checked
 * with toMatchObject (a subset of the body) and its status.
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

/** Runs every step in order; `after(stepName, response)` may add checks. Returns the captured values. */
export const replay = async (
  client: ScimClient,
  recording: Recording,
  after: (step: string, response: ScimResponse, vars: Record<string, string>) => Promise<void> | void = () => undefined,
): Promise<Record<string, string>> => {
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
    await after(step.name, r, vars);
  }
  return vars;
};
