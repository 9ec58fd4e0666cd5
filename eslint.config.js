// Lint rules, including the module boundaries of DESIGN.md §3 / STYLE.md §1:
// imports flow pickle <- delta <- protocol <- session; each kind of I/O has one home.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layers = ['pickle', 'delta', 'protocol', 'session', 'net', 'store', 'admin', 'client', 'cli'];

/** What each folder may import from its siblings. Everything else under src/ is off limits. */
const allowed = {
  pickle: [],
  delta: ['pickle'],
  protocol: ['pickle', 'delta'],
  session: ['pickle', 'delta', 'protocol'],
  net: ['pickle', 'protocol', 'session'],
  store: ['pickle', 'delta', 'protocol', 'session'],
  admin: ['pickle', 'protocol', 'session', 'store'],
  client: ['pickle', 'delta', 'protocol', 'net'],
  cli: layers,
};

/** The single home of each kind of I/O. */
const ioHome = {
  'node:net': 'net',
  'node:http': 'admin',
};

/**
 * The file system is narrower still: one file, src/store/fs-port.ts, imports it, and every other
 * file access of src/ (the CLI's too: .env, the log file, the console's static files) goes through
 * what it exports, so the store's failure injection and its rules cover every file touched.
 */
const FS_MODULES = ['node:fs', 'fs', 'node:fs/promises', 'fs/promises'];
const FS_HOME = 'src/store/fs-port.ts';

/** `../<l>/…` as seen from a file of a sibling folder or of one of its subfolders (src/net/zmtp/). */
function relativeTo(l, tails) {
  return ['../', '../../', '../../../'].flatMap((up) => tails.map((t) => (t ? `${up}${l}/${t}` : `${up}${l}`)));
}

/**
 * Another folder is reached only through its index.ts, the curated public surface, so that a
 * folder's internal modules can be split or renamed without touching its users.
 */
function throughIndex(l, group, who) {
  return {
    group: [...group, ...group.map((g) => `!${g.replace(/\*$/, 'index.js')}`)],
    message: `${who} may import src/${l} only through src/${l}/index.ts`,
  };
}

/**
 * Tests and benchmarks: a test under test/<layer>/ may import the internals of src/<layer>/ (it
 * tests them); every other folder of src/ it reaches through that folder's index.ts, like src/
 * does. Shared test code (test/helpers/, test/integration/, test/tools/…) and bench/ use only the
 * index files.
 */
function testRules(dir, ownLayer) {
  const others = layers.filter((l) => l !== ownLayer);
  return {
    files: [`${dir}/**/*.ts`],
    ...(ownLayer ? {} : { ignores: layers.map((l) => `test/${l}/**`) }),
    rules: {
      'no-restricted-imports': ['error', { patterns: others.map((l) => throughIndex(l, [`**/src/${l}/*`], dir)) }],
    },
  };
}

function boundaryRules(layer, fsAllowed = false) {
  const banned = layers.filter((l) => l !== layer && !allowed[layer].includes(l));
  const paths = Object.entries(ioHome)
    .filter(([, home]) => home !== layer && layer !== 'cli' && !(layer === 'client' && home === 'net'))
    .map(([name, home]) => ({ name, message: `only src/${home}/ may import ${name}` }));
  if (!fsAllowed) {
    for (const name of FS_MODULES) {
      paths.push({ name, message: `only ${FS_HOME} may import ${name}: use what src/store/index.ts exports` });
    }
  }
  // A devDependency: the independent libzmq peer of the tests and the benchmark baseline. The
  // server and the CLI speak ZMTP themselves (src/net/zmtp/) and load no native addon.
  paths.push({
    name: 'zeromq',
    message: 'nothing under src/ may import zeromq (a test peer and benchmark baseline only)',
  });
  return {
    files: fsAllowed ? [FS_HOME] : [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths,
          patterns: [
            ...banned.map((l) => ({
              group: relativeTo(l, ['*', '']),
              message: `src/${layer} must not import src/${l}`,
            })),
            ...allowed[layer].map((l) => throughIndex(l, relativeTo(l, ['*']), `src/${layer}`)),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test/fixtures/data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layers.map((l) => boundaryRules(l)),
  // Later entries win: the store's boundaries again for the one file that may use node:fs.
  boundaryRules('store', true),
  testRules('test'),
  ...layers.map((l) => testRules(`test/${l}`, l)),
  testRules('bench'),
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-console': 'error' },
  },
);
