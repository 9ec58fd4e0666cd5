import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from './config-error.js';

/**
 * The `.env` text in `cwd`, or undefined when there is none; other read errors are configuration
 * errors. The one reader for `serve`, `health` and the data tools, so they agree on the file.
 */
export function readDotenv(cwd: string): string | undefined {
  try {
    return readFileSync(join(cwd, '.env'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('CONFIG_DOTENV', `cannot read ${join(cwd, '.env')}: ${(err as Error).message}`);
  }
}
