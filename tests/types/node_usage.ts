// Compiled (not run) by `tsc -p tests/types/node.tsconfig.json`: Node code against the "node" export.
import { parameterize, fit } from "synparam";

export async function script(): Promise<void> {
  const { results, provenance } = await parameterize({ circuit: "circuit_config.json", config: {}, seed: 1, out: "out", signal: AbortSignal.timeout(60_000) });
  console.log(results["pop"].numRows, provenance);
  // @ts-expect-error: a circuit is a path or paths in Node
  await parameterize({ circuit: new URL("http://x/circuit_config.json"), config: {} });
  const fitted = await fit({ circuit: "circuit_config.json", pathwayProperty: "mtype", laws: { conductance: "gamma" }, maxSamples: 1000, out: "model.json", reportOut: "report.json" });
  console.log(fitted.model.prop_stats["conductance"], fitted.report.pathways[0].fallback?.level, fitted.notFitted[0].reason);
  // @ts-expect-error: a fit needs its pathway property
  await fit({ circuit: "circuit_config.json" });
  // @ts-expect-error: not a law the fit writes
  await fit({ circuit: "circuit_config.json", pathwayProperty: "mtype", laws: { conductance: "gama" } });
}
