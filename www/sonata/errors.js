// The one error type of the JS hosts, and how names are shown. A CircuitError names the file and,
// where known, the population or dataset before its message; every layer (SONATA I/O, the run,
// the hosts) throws it, so it lives apart from all of them. Plain ES module (Node, Web Worker, page).

/** A name made safe to show on a terminal or in a log line: control characters escaped. */
export function printable(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** An error about a circuit, its files or its output: names the file and, where known, the
 * population or dataset. */
export class CircuitError extends Error {
  constructor(message, { file, population, dataset } = {}) {
    super([file && `${printable(file)}`, population && `population '${printable(population)}'`, dataset && `dataset ${printable(dataset)}`, message].filter(Boolean).join(": "));
    this.name = "CircuitError";
    Object.assign(this, { file, population, dataset });
  }
}

/** A core error about a file (`CircuitError` from the output module) as a CircuitError naming
 * `file`; any other error (a defect) as it is. */
export function inFileOf(error, file) {
  if (error?.name !== "CircuitError" || error instanceof CircuitError) return error;
  return new CircuitError(error.message, { file });
}
