// Reading a results document: schema check with the failing field named in one line.

import { EtokError } from './errors.js';
import { RESULTS_SCHEMA_ID, type Results, ResultsSchema } from './schemas.js';

export function parseResults(text: string, source: string): Results {
  if (text.trim() === '')
    throw new EtokError('BAD_RESULTS', `${source}: the file is empty, not a results file`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EtokError('BAD_RESULTS', `${source}: not JSON (${(error as Error).message})`);
  }
  if (raw && typeof raw === 'object' && 'schema' in raw) {
    const schema = (raw as { schema: unknown }).schema;
    if (typeof schema === 'string' && schema !== RESULTS_SCHEMA_ID && schema.startsWith('etok.results/')) {
      throw new EtokError(
        'BAD_RESULTS',
        `${source}: schema '${schema}' is not supported; this etok reads ${RESULTS_SCHEMA_ID}`,
      );
    }
  }
  const parsed = ResultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(document)';
    throw new EtokError('BAD_RESULTS', `${source}: field '${where}' ${issue.message}`);
  }
  return parsed.data;
}
