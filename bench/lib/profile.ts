/**
 * CPU profiles of the gateway during a measured phase (inspector Profiler in the
 * gateway process), summarised by self time: per function and per package.
 */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

const packageOf = (url: string): string => {
  if (!url) return '(other native code)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/dist/');
  if (src >= 0) return `orgway ${url.slice(src + '/dist/'.length).split('/').slice(0, 3).join('/')}`;
  return url;
};

export interface ProfileSummary {
  totalMs: number;
  byPackage: { name: string; ms: number; share: number }[];
  byFunction: { name: string; ms: number; share: number }[];
  /** Time spent in a function and everything it called (each function counted once per stack). */
  inclusive: { name: string; ms: number; share: number }[];
}

export const summariseProfile = (p: CpuProfile, top = 20): ProfileSummary => {
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  } else {
    const interval = (p.endTime - p.startTime) / 1000 / Math.max(1, p.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0));
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * interval);
  }
  // Samples taken while the profiler itself was starting (inspector `post` under the
  // bench's profileStart command) are the measurement's cost, not the gateway's.
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  for (const id of [...self.keys()]) {
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const f = frames.get(cur)!;
      if (f.functionName === 'profileStart' || (f.functionName === 'post' && f.url === 'node:inspector')) {
        self.delete(id);
        break;
      }
    }
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const pkg = new Map<string, number>();
  const fn = new Map<string, number>();
  for (const n of p.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (!ms) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const idle = functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)';
    const pName = idle
      ? functionName
      : !url && /^(writeBuffer|writev|writeUtf8String|writeLatin1String|writeAsciiString|readBuffer)$/.test(functionName)
        ? 'socket writes (native, syscalls)'
        : !url && functionName === 'runMicrotasks'
          ? '(microtask queue)'
          : packageOf(url);
    pkg.set(pName, (pkg.get(pName) ?? 0) + ms);
    const short = url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')}:${lineNumber + 1}` : '';
    const fName = `${functionName || '(anonymous)'} ${short}`.trim();
    fn.set(fName, (fn.get(fName) ?? 0) + ms);
  }
  // Inclusive time: walk each sampled node's ancestors once.
  const parent = parentOf;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const keyOf = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')}:${lineNumber + 1}` : ''}`.trim();
  };
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    if (!ms) continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(cur);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  for (const k of ['(root)']) inclusive.delete(k);
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }));
  return { totalMs: total, byPackage: rank(pkg), byFunction: rank(fn), inclusive: rank(inclusive) };
};

export const formatProfile = (title: string, s: ProfileSummary): string => {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title} — ${(s.totalMs / 1000).toFixed(1)} s of samples, self time`];
  lines.push('  by package:');
  for (const r of s.byPackage.slice(0, 12)) lines.push(`    ${pct(r.share)}  ${r.name}`);
  lines.push('  by function:');
  for (const r of s.byFunction) lines.push(`    ${pct(r.share)}  ${r.name}`);
  lines.push('  inclusive (a function and what it calls):');
  for (const r of s.inclusive) lines.push(`    ${pct(r.share)}  ${r.name}`);
  return lines.join('\n');
};
