// Compiled (not run) by `tsc -p tests/types`: code against the worker protocol's declarations.
import type { WorkerClient } from "../../types/protocol.js";

async function drive(client: WorkerClient): Promise<number> {
  const circuit = await client.call("load", { circuitUrl: "/c/circuit_config.json", allowedOrigins: ["https://a.example"] });
  const result = await client.call("run", { circuitUrl: "/c/circuit_config.json", config: "{}", seed: 1 }, { onProgress: ({ done, total }) => console.log(done / total) });
  const { blob } = await client.call("zip", {});
  const { points, formula } = await client.call("preview", { spec: "{\"type\": \"zero\"}" });
  const plan = await client.call("validate", { config: "{}", overrides: { seed: 3 } });
  const seedSource: "override" | "config" | "default" = plan.settings.seed.source;
  const pathways = await client.call("pathways", { circuitUrl: "/c/circuit_config.json", property: "mtype" });
  const schema = await client.call("schema", {});
  const { file } = await client.call("columns", { population: "S1__S1" }, { onProgress: ({ done }) => console.log(done) });
  // @ts-expect-error: no such request
  await client.call("format", {});
  // @ts-expect-error: run needs a config
  await client.call("run", { circuitUrl: "/c" });
  const unavailable: (string | null)[] = circuit.unavailable.map((u) => (u.kind === "edges" ? u.population : u.file)).concat(result.unavailable.map((u) => u.message));
  return unavailable.length + circuit.edgePopulations.length + result.outputs.length + blob.size + points.length + formula.length + seedSource.length +
    pathways.counts.reduce((sum, c) => sum + c.synapses, 0) + schema.distributions.length + (result.settings.overwrite.value ? 1 : 0) + file.size;
}

export { drive };
