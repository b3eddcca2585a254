/**
 * Summarises a .cpuprofile (self time by package and function, inclusive time by function):
 *   node dist/bench/profile-summary.js bench/profiles/viewer-gateway.cpuprofile [top]
 */
import { readFile } from 'node:fs/promises';
import { type CpuProfile, formatProfile, summariseProfile } from './lib/profile.js';

const [file, top] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
  process.exit(64);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
process.stdout.write(`${formatProfile(file, summariseProfile(profile, Number(top ?? 25)))}\n`);
