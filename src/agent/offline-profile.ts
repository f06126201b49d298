import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../config/paths.js';
import { profileSettingsSchema, type ProfileSettings } from './profile.js';

export const defaultOfflineProfilePath = () =>
  path.join(packageRoot(), 'deploy', 'agent-offline.yaml');

/** Reads the offline profile (YAML, the same fields as an agent profile); errors name the file. */
export function loadOfflineProfile(file = defaultOfflineProfilePath()): ProfileSettings {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const parsed = profileSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`${file}: ${problems.join('; ')}`);
  }
  return parsed.data;
}
