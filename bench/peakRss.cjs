// Preloaded with `node --require` into a command the bench runs unmodified (the built CLI): prints the
// process's peak resident memory as one JSON line on stderr when it exits.
process.on('exit', () => {
  process.stderr.write(`\n${JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024 })}\n`);
});
