// `npm run bench -- [verify|terminal|ingest|library|hardware|all] [--json]` (`all` leaves out hardware: it needs root)
const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const wanted =
  names.length === 0 || names.includes('all') ? ['verify', 'terminal', 'ingest', 'library'] : names;

const suites: Record<string, () => Promise<unknown>> = {
  verify: async () => (await import('./verify.js')).runVerifyBench({ json }),
  terminal: async () => (await import('./terminal.js' as string)).runTerminalBench({ json }),
  ingest: async () => (await import('./ingest.js' as string)).runIngestBench({ json }),
  library: async () => (await import('./library.js' as string)).runLibraryBench({ json }),
  hardware: async () => (await import('./hardware.js')).runHardwareBench({ json }),
};

for (const name of wanted) {
  const suite = suites[name];
  if (!suite) {
    console.error(`bench: unknown suite "${name}"; choose from ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench ${name} ===`);
  await suite();
}
