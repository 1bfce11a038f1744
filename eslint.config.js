import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Libraries that reach a driver, a socket or a device. */
const DRIVERS = ['better-sqlite3', 'mqtt', 'aedes', 'pg', 'nfc-pcsc', 'serialport', 'node-hid'];
/** Folders nothing imports (the demo is run by its one CLI command; its test runs it). */
const NOT_IMPORTED = ['**/bench/**', '**/demo/**'];

/**
 * no-restricted-imports for `files`: `banned` everywhere, plus each driver of `owners` outside the files
 * that own it. Tests beside the code may use drivers (they check the code that owns them).
 */
function layer(files, banned, owners = {}, ignores = []) {
  const ownedDrivers = [...new Set(Object.values(owners).flat())];
  const configs = [
    {
      files: [files],
      ignores,
      rules: { 'no-restricted-imports': ['error', { patterns: [...banned, ...ownedDrivers] }] },
    },
  ];
  for (const [owner, drivers] of Object.entries(owners)) {
    const others = ownedDrivers.filter((d) => !drivers.includes(d));
    configs.push({
      files: [owner],
      rules: { 'no-restricted-imports': ['error', { patterns: [...banned, ...others] }] },
    });
  }
  configs.push({
    files: [files.replace('**/*.ts', '**/*.test.ts')],
    ignores,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: banned.filter((b) => !DRIVERS.includes(b) && !ownedDrivers.includes(b)) },
      ],
    },
  });
  return configs;
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Type-aware: a promise nobody awaits or handles can end the daemon with an unhandled rejection, and a
    // switch over a union must name every member (a new reason or command is handled everywhere).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
    },
  },
  // Layering (docs/DESIGN: arrows point down; nothing imports bench/ or demo/), and which files may touch
  // a driver: only the store imports better-sqlite3, only adapters import mqtt and the hardware libraries.
  ...layer('shared/**/*.ts', [
    '**/terminal/**',
    '**/central/**',
    '**/issuer/**',
    ...DRIVERS,
    ...NOT_IMPORTED,
  ]),
  ...layer('issuer/**/*.ts', ['**/terminal/**', '**/central/**', ...DRIVERS, ...NOT_IMPORTED]),
  ...layer('terminal/**/*.ts', ['**/central/**', '**/issuer/**', ...NOT_IMPORTED], {
    'terminal/store/**': ['better-sqlite3'],
    // The kiosk's loans and returns, on the store's one connection (terminal/store/sqlite.ts `connection`).
    'terminal/kiosk/loans-repo.ts': ['better-sqlite3'],
    'terminal/adapters/**': ['mqtt', 'serialport'],
    // Hardware libraries only in their thin shells: everything else works on typed scans and device health.
    'terminal/io/serial-port.ts': ['serialport'],
    'terminal/io/hid-scanner.ts': ['node-hid'],
    'terminal/io/pcsc/host.ts': ['nfc-pcsc', '@pokusew/pcsclite'],
  }),
  ...layer('central/**/*.ts', ['**/terminal/**', ...NOT_IMPORTED], {
    'central/store/sqlite.ts': ['better-sqlite3'],
    'central/store/postgres.ts': ['pg'],
    'central/store/pg-lease.ts': ['pg'],
    // The library loans ledger, one file per store.
    'central/loans/sqlite.ts': ['better-sqlite3'],
    'central/loans/postgres.ts': ['pg'],
    'central/link.ts': ['mqtt'],
    'central/broker.ts': ['aedes'],
  }),
  ...layer('{cli,wallet,provisioning,testkit}/**/*.ts', NOT_IMPORTED, {}, ['cli/commands/demo.ts']),
  ...layer('test/**/*.ts', NOT_IMPORTED, {}, ['test/demo.test.ts']),
);
