// Wall-clock time per phase of a run (the command's --timings, the page worker's result): where
// the time goes, measured where it is spent.

/** Wall-clock time per phase of a run: `mark(name)` ends the phase `name`. */
export function phaseTimer() {
  let last = performance.now();
  const phases = new Map();
  return {
    mark(name) {
      const now = performance.now();
      phases.set(name, (phases.get(name) ?? 0) + now - last);
      last = now;
    },
    report: () => [...phases].map(([name, ms]) => `${name.padEnd(24)} ${(ms / 1000).toFixed(2).padStart(7)} s`),
    phases: () => Object.fromEntries([...phases].map(([name, ms]) => [name, ms / 1000])),
  };
}

