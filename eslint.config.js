import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    files: ['shared/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['**/terminal/**', '**/central/**', 'better-sqlite3', 'mqtt', 'aedes', 'pg'] },
      ],
    },
  },
  {
    files: ['terminal/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        // Hardware libraries only in their thin shells (terminal/io/serial-port.ts, hid-scanner.ts,
        // pcsc/host.ts): everything else in the terminal works on typed scans and device health.
        { patterns: ['**/central/**', 'serialport', 'node-hid', 'nfc-pcsc', '@pokusew/pcsclite'] },
      ],
    },
  },
  {
    files: ['terminal/io/serial-port.ts', 'terminal/io/hid-scanner.ts', 'terminal/io/pcsc/host.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/central/**'] }] },
  },
  {
    files: ['central/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/terminal/**'] }] },
  },
);
