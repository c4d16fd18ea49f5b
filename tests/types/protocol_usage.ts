// Compiled (not run) by `tsc -p tests/types`: code against the worker protocol's declarations.
import type { WorkerClient } from "../../types/protocol.js";

async function drive(client: WorkerClient): Promise<number> {
  const circuit = await client.call("load", { circuitUrl: "/c/circuit_config.json", allowedOrigins: ["https://a.example"] });
  const result = await client.call("run", { circuitUrl: "/c/circuit_config.json", config: "{}", seed: 1 }, { onProgress: ({ done, total }) => console.log(done / total) });
  const { blob } = await client.call("zip", {});
  const points = await client.call("preview", { spec: "{\"type\": \"zero\"}" });
  // @ts-expect-error: no such request
  await client.call("format", {});
  // @ts-expect-error: run needs a config
  await client.call("run", { circuitUrl: "/c" });
  return circuit.edgePopulations.length + result.outputs.length + blob.size + points.length;
}

export { drive };
