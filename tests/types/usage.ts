// Compiled (not run) by `tsc -p tests/types`: host code written against the package's declarations.
import { parameterize, SynparamPanel, type SynparamResults } from "synparam";

async function host(panel: SynparamPanel, files: FileList): Promise<number> {
  panel.circuitUrl = "/circuits/a/circuit_config.json";
  panel.fetchInit = { headers: { Authorization: "Bearer token" } };
  panel.allowedOrigins = ["https://files.example.org"];
  panel.config = { src_types: ["EXC"], tgt_types: ["EXC"], prop_stats: {} };
  panel.seed = 3;
  panel.addEventListener("synparam-progress", (event) => console.log(event.detail.done / event.detail.total));
  panel.addEventListener("synparam-error", (event) => console.error(event.detail.path ?? event.detail.message));
  panel.addEventListener("synparam-ready", (event) => {
    for (const { kind, file, population, message } of event.detail.unavailable) console.warn(kind, file, population ?? "(populations unknown)", message);
  });
  panel.loadFiles(files);
  const { results, stats }: SynparamResults = await panel.run();
  const edges: Record<string, Blob> = panel.exportEdges();
  const zip: Blob = await panel.exportCircuit();
  const controller = new AbortController();
  const headless = await parameterize({ circuit: files, config: "{}", seed: 1, signal: controller.signal, onProgress: ({ done }) => console.log(done), allowedOrigins: ["https://a.example"] });
  const element = document.querySelector("synparam-panel");
  return results["pop"].numRows + Object.keys(stats).length + Object.keys(edges).length + zip.size + headless.warnings.length + (element ? 1 : 0);
}

// @ts-expect-error: seed must be a number
parameterize({ circuit: "x", config: {}, seed: "1" });

export { host };
