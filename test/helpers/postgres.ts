// Re-exported from bench/support (compiled with the bench, which launches the same components).
export * from '../../bench/support/postgres.js';
