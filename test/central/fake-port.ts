// The in-memory SyncPort lives with the bench, which drives the same simulated terminals.
export { SimPort as FakePort } from '../../bench/support/sim-port.js';
