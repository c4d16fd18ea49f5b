// The loaded circuit as the page shows it: its edge and node populations, what could not be loaded
// (each with its error), and the synapses per pathway before any run (the core's count with the
// run's own rules). DOM built from text only.

/** Show the worker's description of a loaded circuit (`load`'s result). */
export function showCircuit($, data) {
  $("circuit").textContent = "Edge populations: " + data.edgePopulations.map((e) =>
    `${e.name}: ${e.source} → ${e.target}, ${e.size} synapses, ${e.groups.length} edge group${e.groups.length === 1 ? "" : "s"}`).join("; ");
  $("circuit").dataset.storage = JSON.stringify(data.storage);
  $("nodes").textContent = "Node populations: " + data.nodePopulations.map((n) => `${n.name} (${n.type ?? "unknown type"}, ${n.size} nodes)`).join("; ");
  // What could not be loaded, each with its error (the loader's list): the rest is usable.
  const unavailable = data.unavailable ?? [];
  $("unavailable").hidden = !unavailable.length;
  $("unavailable").querySelector("ul").replaceChildren(...unavailable.map((u) => Object.assign(document.createElement("li"), {
    textContent: `${u.kind === "edges" ? "edge" : "node"} population ${u.population ?? "(unknown)"} in ${u.file}: ${u.message}`,
  })));
}

/** The synapse matrix before a run, as the core counts it (a `null` value: nodes without the
 * property and no fallback — a run would refuse them), with the populations a run would skip. */
export function showPathwayMatrix($, { property, counts, skipped }) {
  const name = (value) => value ?? "(no value)";
  const sources = [...new Set(counts.map((c) => name(c.source)))].sort();
  const targets = [...new Set(counts.map((c) => name(c.target)))].sort();
  const table = new Map(counts.map((c) => [`${name(c.source)}\u0000${name(c.target)}`, c.synapses]));
  const cell = (tag, text, missing = false) => Object.assign(document.createElement(tag), { textContent: text, className: missing ? "missing" : "" });
  const caption = cell("caption", `Synapses per pathway (${property}; rows: source, columns: target)` + (skipped.length ? ` — ${skipped.join("; ")}` : ""));
  const head = document.createElement("tr");
  head.append(cell("th", "source \\ target"), ...targets.map((t) => cell("th", t, t === "(no value)")));
  const rows = sources.map((s) => {
    const row = document.createElement("tr");
    row.append(cell("th", s, s === "(no value)"), ...targets.map((t) => cell("td", String(table.get(`${s}\u0000${t}`) ?? 0))));
    return row;
  });
  $("pathway-matrix").replaceChildren(caption, head, ...rows);
}
