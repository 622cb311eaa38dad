// @ts-check
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// Architecture guards
//
// 1. One adapter per technology: each infrastructure library is imported by exactly one folder
//    of lib/, and everything else talks to that folder's port (EventLog, KeyValueStore,
//    ModelEndpoint, Logger, the codec). Tests may import what they need.
// 2. Pure folders: the bandit maths, the spam model, the Rabin fingerprint and every service's
//    core/ are deterministic functions of their inputs. They import no I/O library, no node
//    builtin, and read no ambient clock, random source, timer or process state: the caller
//    injects the clock and the random source, which keeps them replayable and unit-testable.
// ---------------------------------------------------------------------------------------------

/** @type {{ name: string, group: string[], allowedIn: string[] }[]} */
const adapters = [
  { name: 'kafkajs', group: ['kafkajs', 'kafkajs/*'], allowedIn: ['lib/event-log/**'] },
  {
    name: '@nxtedition/rocksdb',
    group: ['@nxtedition/rocksdb', '@nxtedition/rocksdb/*'],
    allowedIn: ['lib/store/**'],
  },
  {
    name: '@aws-sdk/client-sagemaker-runtime',
    group: ['@aws-sdk/client-sagemaker-runtime', '@aws-sdk/client-sagemaker-runtime/*'],
    allowedIn: ['lib/model-endpoint/**'],
  },
  {
    name: '@aws-sdk/client-kinesis',
    group: ['@aws-sdk/client-kinesis', '@aws-sdk/client-kinesis/*'],
    allowedIn: ['services/label-ingestion/kinesis/**'],
  },
  // The Node HTTP handler of the AWS SDK, given to each AWS client by its adapter.
  {
    name: '@smithy/*',
    group: ['@smithy/*'],
    allowedIn: ['lib/model-endpoint/**', 'services/label-ingestion/kinesis/**'],
  },
  { name: 'pino', group: ['pino', 'pino/*'], allowedIn: ['lib/log/**'] },
  { name: 'avsc', group: ['avsc', 'avsc/*'], allowedIn: ['lib/codec/**'] },
  { name: 'prom-client', group: ['prom-client', 'prom-client/*'], allowedIn: ['lib/metrics/**'] },
];

/** @param {(typeof adapters)[number]} adapter */
const adapterPattern = (adapter) => ({
  group: adapter.group,
  message: `${adapter.name} is imported only by its adapter (${adapter.allowedIn.join(', ')}): depend on that adapter's port instead.`,
});

const pureFiles = [
  'lib/bandit/**',
  'lib/stats/**',
  'lib/spam/**',
  'lib/model-batch/**',
  'lib/codec/rabin-fingerprint.ts',
  'services/*/core/**',
];
const pureMessage =
  'pure core: inject the clock and random source (and any I/O) from the service shell, so the code stays deterministic and replayable.';
const nodeBuiltins = [
  'fs',
  'path',
  'crypto',
  'http',
  'https',
  'os',
  'child_process',
  'net',
  'perf_hooks',
  'url',
  'util',
  'events',
  'stream',
  'readline',
  'worker_threads',
  'timers',
];

const testFiles = ['test/**/*.ts'];

export default defineConfig(
  {
    ignores: ['node_modules/', 'coverage/', '.dynab/'],
  },

  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // bin/dynab.mjs is the installed command's JavaScript shim (package.json "bin"), outside
        // the TypeScript project.
        projectService: { allowDefaultProject: ['bin/dynab.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A `default:` counts as handling the rest (argv switches over `string | undefined`); a
      // union switch without one must list every member.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      // Numbers in messages and log lines are the common, harmless case.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `x => resolve(x)` / `() => expect(...)` callbacks are idiomatic; void used as a value
      // anywhere else is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // The code base reads index-signature keys (process.env, parsed JSON, headers) with
      // brackets to mark "may be absent"; dot access stays required for declared properties.
      '@typescript-eslint/dot-notation': ['error', { allowIndexSignaturePropertyAccess: true }],
    },
  },

  // One adapter per technology (everywhere but tests and the adapter itself).
  {
    ignores: testFiles,
    rules: {
      'no-restricted-imports': ['error', { patterns: adapters.map(adapterPattern) }],
    },
  },
  ...[...new Set(adapters.flatMap((a) => a.allowedIn))].map((folder) => ({
    files: [folder],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: adapters.filter((a) => !a.allowedIn.includes(folder)).map(adapterPattern),
        },
      ],
    },
  })),

  // Pure folders (overrides the adapter rule there with a strict superset of it).
  {
    files: pureFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(node:.*|(${nodeBuiltins.join('|')})(/.*)?)$`,
              message: `no node builtins here (I/O and ambient state). ${pureMessage}`,
            },
            {
              group: [
                ...['kafkajs', 'avsc', '@nxtedition/rocksdb', 'pino', 'zod', 'prom-client'].flatMap(
                  (name) => [name, `${name}/*`],
                ),
                '@aws-sdk/*',
                '@smithy/*',
              ],
              message: `no I/O or validation libraries here (they belong to adapters and shells). ${pureMessage}`,
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: pureMessage },
        { object: 'Math', property: 'random', message: pureMessage },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'console',
          'setTimeout',
          'setInterval',
          'setImmediate',
          'queueMicrotask',
          'fetch',
          // Web globals that are a clock (performance.now) or a random source (crypto.randomUUID).
          'performance',
          'crypto',
          // ...and the way around all of the above.
          'globalThis',
        ].map((name) => ({ name, message: pureMessage })),
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: `new Date() reads the clock. ${pureMessage}`,
        },
      ],
    },
  },

  // Tests: relax only what is noisy there; promise rules stay on.
  {
    files: testFiles,
    rules: {
      // `arr[i]!` / `map.get(k)!` right after asserting the value exists is idiomatic in tests.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },

  // Plain JS config files are not part of the TypeScript project.
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
