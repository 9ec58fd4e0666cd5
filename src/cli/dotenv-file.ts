import { join } from 'node:path';

import { readTextFileSync } from '../store/index.js';
import { ConfigError } from './config-error.js';

/**
 * The `.env` text in `cwd`, or undefined when there is none; other read errors are configuration
 * errors. The one reader for `serve`, `health` and the data tools, so they agree on the file.
 */
export function readDotenv(cwd: string): string | undefined {
  try {
    return readTextFileSync(join(cwd, '.env'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('CONFIG_DOTENV', `cannot read ${join(cwd, '.env')}: ${(err as Error).message}`);
  }
}
