/**
 * A `.env` file reader (no dependency): `KEY=VALUE` per line, `#` comments, an optional `export `
 * prefix, single quotes taken literally, double quotes with `\n`, `\t`, `\"` and `\\` escapes, and
 * a ` #` comment after an unquoted value. Pure: the caller reads the file.
 */
import { ConfigError } from './config-error.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unquoteDouble(body: string): string {
  return body.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c] ?? c);
}

/**
 * Parses `.env` text into key → value, later lines winning. Throws `ConfigError` `CONFIG_DOTENV`
 * naming the line for a line that is not `KEY=VALUE` or has an unterminated quote.
 */
export function parseDotenv(text: string, source = '.env'): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice('export '.length).trimStart();
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !KEY.test(key)) {
      throw new ConfigError('CONFIG_DOTENV', `${source} line ${i + 1}: expected KEY=VALUE`);
    }
    const raw = line.slice(eq + 1).trim();
    let value: string;
    const quote = raw[0];
    if (quote === '"' || quote === "'") {
      const end = raw.indexOf(quote, 1);
      let close = end;
      if (quote === '"') {
        // Skip escaped quotes.
        close = -1;
        for (let j = 1; j < raw.length; j++) {
          if (raw[j] === '\\') j++;
          else if (raw[j] === '"') {
            close = j;
            break;
          }
        }
      }
      if (close < 0) throw new ConfigError('CONFIG_DOTENV', `${source} line ${i + 1}: unterminated ${quote} quote`);
      const body = raw.slice(1, close);
      value = quote === '"' ? unquoteDouble(body) : body;
    } else {
      const hash = raw.search(/\s#/);
      value = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    }
    out.set(key, value);
  }
  return out;
}
