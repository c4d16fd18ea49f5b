// Histograms of drawn values per property × pathway, with the spec's expected counts on the same
// bins drawn over them (the core computes both; this module only draws, with Observable Plot).
import * as Plot from "@observablehq/plot";

/** Units of the standard synapse properties, for axis labels. */
export const UNITS = {
  conductance: "nS", decay_time: "ms", depression_time: "ms", facilitation_time: "ms", delay: "ms",
  u_syn: "", u_hill_coefficient: "", conductance_scale_factor: "", n_rrp_vesicles: "vesicles", syn_type_id: "",
};

/** Observable Plot's chart, without the <style> element it puts into every SVG: a strict
 * Content-Security-Policy refuses inline styles, and the stylesheet (template.js) has those rules. */
export function plot(options) {
  const chart = Plot.plot(options);
  for (const style of chart.querySelectorAll("style")) style.remove();
  return chart;
}

export function axisLabel(property) {
  const unit = UNITS[property];
  return unit ? `${property} (${unit})` : property;
}

/** One histogram (an SVG element) of one property in one pathway. */
export function histogram(property, pathway, { width = 320, height = 180 } = {}) {
  const { edges, counts, expected, integer } = pathway.histogram;
  const bins = counts.map((count, i) => ({ x1: edges[i], x2: edges[i + 1], count, expected: expected[i], centre: (edges[i] + edges[i + 1]) / 2 }));
  const theory = integer
    ? Plot.dot(bins, { x: "centre", y: "expected", r: 3, fill: "#c2410c", title: (d) => `expected ${d.expected.toFixed(1)}` })
    : Plot.line(bins, { x: "centre", y: "expected", stroke: "#c2410c", strokeWidth: 2, curve: "monotone-x" });
  return plot({
    width, height, marginLeft: 44,
    title: `${pathway.source} → ${pathway.target}`,
    x: { label: axisLabel(property), ...(integer ? { ticks: bins.length <= 12 ? bins.map((b) => b.centre) : undefined, tickFormat: "d" } : {}) },
    y: { label: "synapses", grid: true },
    marks: [
      Plot.rectY(bins, { x1: "x1", x2: "x2", y: "count", fill: "#3b6fb6", fillOpacity: 0.75, inset: integer ? 2 : 0.5,
        title: (d) => `${d.count} synapses in [${d.x1.toPrecision(4)}, ${d.x2.toPrecision(4)})` }),
      theory,
      Plot.ruleY([0]),
    ],
  });
}

/** A figure per property: one histogram per pathway with synapses, in a wrapping grid.
 * `between()` is awaited after each histogram (the page yields a frame there, so that no single
 * task of the main thread draws a whole figure); `population` names the edge population in the
 * caption when a run has several. */
export async function propertyFigure(propertyStats, { between = async () => {}, population = null } = {}) {
  const figure = document.createElement("figure");
  figure.className = "property-figure";
  const caption = document.createElement("figcaption");
  caption.textContent = `${propertyStats.property}${population ? ` in ${population}` : ""} — bars: drawn; ${propertyStats.pathways.some((p) => p.histogram.integer) ? "dots" : "line"}: expected from the spec`;
  figure.append(caption);
  const grid = document.createElement("div");
  grid.className = "histogram-grid";
  for (const pathway of propertyStats.pathways) {
    const chart = histogram(propertyStats.property, pathway);
    const svg = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector("svg");
    const link = document.createElement("a");
    link.textContent = "SVG";
    link.className = "svg-download";
    link.download = `${propertyStats.property}_${pathway.source}_${pathway.target}.svg`.replace(/[^A-Za-z0-9_.-]/g, "_");
    link.href = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" }));
    chart.append(link);
    grid.append(chart);
    await between();
  }
  figure.append(grid);
  return figure;
}
