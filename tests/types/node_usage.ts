// Compiled (not run) by `tsc -p tests/types/node.tsconfig.json`: Node code against the "node" export.
import { parameterize } from "synparam";

export async function script(): Promise<void> {
  const { results, provenance } = await parameterize({ circuit: "circuit_config.json", config: {}, seed: 1, out: "out", signal: AbortSignal.timeout(60_000) });
  console.log(results["pop"].numRows, provenance);
  // @ts-expect-error: a circuit is a path or paths in Node
  await parameterize({ circuit: new URL("http://x/circuit_config.json"), config: {} });
}
