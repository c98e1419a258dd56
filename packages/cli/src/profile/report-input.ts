// `etok report` on a profile: the files named are a profile (etok.profile/v1) or results (etok.results/v1); the
// schema field decides, so one command reports both.
import { EtokError, isProfileDocument, type ProfileDocument, parseProfile } from '@etok/core';
import { readRegularFile } from '../files/input-file.js';

/** The profile named on the command line, or null when the first file is not one (results are read as before). */
export function readProfileIfAny(paths: readonly string[], cwd: string): ProfileDocument | null {
  let text: string;
  try {
    text = readRegularFile(paths[0]!, cwd, 'file').toString('utf8');
  } catch {
    return null; // the results reader names the problem
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isProfileDocument(value)) return null;
  if (paths.length > 1)
    throw new EtokError(
      'BAD_USAGE',
      `${paths[0]} is a profile (etok.profile/v1): report one profile at a time`,
    );
  return parseProfile(text, paths[0]!);
}
