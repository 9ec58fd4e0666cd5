/**
 * A Prometheus text-format (0.0.4) parser for tests: `# HELP`, `# TYPE`, and samples with labels
 * (quoted values with `\\`, `\"`, `\n` escapes), values including `+Inf`, `-Inf`, `NaN`, and an
 * optional timestamp. Strict: a line it cannot read throws, so a formatting bug fails the test.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string | null;
  help: string | null;
  readonly samples: Sample[];
}

export type Exposition = ReadonlyMap<string, Family>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Prometheus reads values with Go's ParseFloat, which takes NaN in any case; prom-client writes 'Nan'.
  if (/^nan$/i.test(text)) return NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`bad value in: ${line}`);
  return v;
}

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = NAME.exec(text.slice(i));
    if (m === null || text[i + m[0].length] !== '=' || text[i + m[0].length + 1] !== '"') {
      throw new Error(`bad label in: ${line}`);
    }
    i += m[0].length + 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[i + 1];
        value += n === 'n' ? '\n' : n;
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[m[0]] = value;
    i++;
    if (text[i] === ',') i++;
  }
}

/** The family a sample belongs to: declared by # TYPE, possibly under a suffix. */
function familyOf(families: Map<string, Family>, name: string): Family {
  const direct = families.get(name);
  if (direct !== undefined) return direct;
  for (const s of SUFFIXES) {
    if (name.endsWith(s)) {
      const f = families.get(name.slice(0, -s.length));
      if (f !== undefined) return f;
    }
  }
  const f: Family = { name, type: null, help: null, samples: [] };
  families.set(name, f);
  return f;
}

export function parsePrometheusText(text: string): Exposition {
  const families = new Map<string, Family>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      let f = families.get(m[2]);
      if (f === undefined) {
        f = { name: m[2], type: null, help: null, samples: [] };
        families.set(m[2], f);
      }
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]))
          throw new Error(`bad type: ${line}`);
        f.type = m[3];
      } else {
        f.help = m[3];
      }
      continue;
    }
    const nm = NAME.exec(line);
    if (nm === null) throw new Error(`bad sample line: ${line}`);
    let rest = line.slice(nm[0].length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`bad sample line: ${line}`);
    familyOf(families, nm[0]).samples.push({ name: nm[0], labels, value: parseValue(parts[0], line) });
  }
  return families;
}

/** The value of the one sample `name` whose labels include `labels`; throws when none or several match. */
export function sampleValue(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const matches: Sample[] = [];
  for (const f of exp.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) matches.push(s);
    }
  }
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return matches[0].value;
}

/** Like `sampleValue`, but 0 when the sample is absent (a counter not yet touched). */
export function sampleOrZero(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  try {
    return sampleValue(exp, name, labels);
  } catch {
    return 0;
  }
}
