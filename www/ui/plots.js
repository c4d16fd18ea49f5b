// Histograms of drawn values per property × pathway, with the spec's expected counts on the same
// bins drawn over them (the core computes both, and the spec's formula; this module only draws,
// with Observable Plot), and their export as SVG and PNG with a title and the spec inside.
import * as Plot from "@observablehq/plot";

/** Units of the standard synapse properties, for axis labels. */
export const UNITS = {
  conductance: "nS", decay_time: "ms", depression_time: "ms", facilitation_time: "ms", delay: "ms",
  u_syn: "", u_hill_coefficient: "", conductance_scale_factor: "", n_rrp_vesicles: "vesicles", syn_type_id: "",
};

/** How figures are drawn: x scale shared by a property's pathways, y scale, histogram or CDF. */
export const DEFAULT_FIGURE_OPTIONS = { sharedX: true, yScale: "linear", view: "histogram" };

/** Observable Plot's chart, without the <style> element it puts into every SVG (a strict
 * Content-Security-Policy refuses inline styles, and the stylesheet (template.js) has those
 * rules), and accessible: the SVG is one image named `description`, its marks' names kept as
 * `data-mark` (ARIA forbids names on plain groups). */
export function plot({ description, ...options }) {
  const chart = Plot.plot(options);
  for (const style of chart.querySelectorAll("style")) style.remove();
  const svg = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector("svg");
  for (const element of svg.querySelectorAll("[aria-label]")) {
    element.dataset.mark = element.getAttribute("aria-label");
    element.removeAttribute("aria-label");
  }
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", description ?? [options.title, options.subtitle].filter(Boolean).join(": "));
  return chart;
}

/** The axis label: the property's name as written (syn_type_id, not "syn type id") and its unit. */
export function axisLabel(property) {
  const unit = UNITS[property];
  return unit ? `${property} (${unit})` : property;
}

/** The x range [lo, hi] every pathway of a property shares (their bins' outer edges). */
export function sharedDomain(pathways) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { histogram: { edges } } of pathways) {
    lo = Math.min(lo, edges[0]);
    hi = Math.max(hi, edges[edges.length - 1]);
  }
  return lo < hi ? [lo, hi] : [lo - 1, hi + 1];
}

/** A count as a tick label that fits the margin: 100000 → "100k", 2500000 → "2.5M". */
export const countTick = (d) => (Math.abs(d) >= 1e6 ? `${+(d / 1e6).toPrecision(3)}M` : Math.abs(d) >= 1e4 ? `${+(d / 1e3).toPrecision(3)}k` : String(+d.toPrecision(4)));

/** The core's goodness of fit in words: "χ² p = 0.43 (190 draws, 12 df)", or why there is none. */
export function fitText(pathway) {
  const fit = pathway.goodness_of_fit;
  if (!fit) return pathway.min === pathway.max ? "no fit test (one value)" : "no fit test (too few independent draws)";
  const p = fit.p_value < 1e-4 ? fit.p_value.toExponential(1) : fit.p_value.toPrecision(2);
  return `χ² p = ${p} (${fit.draws} draws, ${fit.degrees_of_freedom} df)`;
}

/** "1 synapse", "2 synapses". */
const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** The pathway's line under its title: synapses, connections, the independent draws (the core's
 * count: connections when one draw serves a connection), the goodness of fit, and the spec's
 * formula from the core. */
export function pathwaySubtitle(pathway, connections) {
  const draws = pathway.goodness_of_fit?.draws ?? (pathway.shared_within ? connections : pathway.count);
  const counts = `${plural(pathway.count, "synapse")}${connections === undefined ? "" : `, ${plural(connections, "connection")}`}` +
    (draws === undefined ? "" : ` — ${plural(draws, "independent draw")}`);
  const before = pathway.previous ? `; before: ${pathway.previous.count} values, mean ${+pathway.previous.mean.toPrecision(4)}` : "";
  return `${counts}; ${fitText(pathway)}; ${pathway.formula}${before}`;
}

/** One chart (an element with an SVG) of one property in one pathway. `domain`: a shared x
 * range, or null for the pathway's own; `yScale`: "linear" or "symlog"; `view`: "histogram" or
 * "cdf". A pathway whose values are all one (a constant) is drawn as one mark at that value. */
export function histogram(property, pathway, { width = 320, height = 190, domain = null, yScale = "linear", view = "histogram", connections } = {}) {
  const { edges, counts, expected, integer } = pathway.histogram;
  const bins = counts.map((count, i) => ({ x1: edges[i], x2: edges[i + 1], count, expected: expected[i], centre: (edges[i] + edges[i + 1]) / 2 }));
  const title = `${pathway.source} → ${pathway.target}`;
  const subtitle = pathwaySubtitle(pathway, connections);
  const x = { label: axisLabel(property), ...(domain ? { domain } : {}), ...(integer ? { ticks: bins.length <= 12 && !domain ? bins.map((b) => b.centre) : undefined, tickFormat: "d" } : {}) };
  const constant = pathway.count > 0 && pathway.min === pathway.max;
  if (view === "cdf") {
    // Cumulative shares at the bins' right edges: drawn (steps) against expected (dashed).
    let drawn = 0;
    let theory = 0;
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    const expectedTotal = expected.reduce((a, b) => a + b, 0) || 1;
    const points = [{ x: edges[0], drawn: 0, expected: 0 }, ...bins.map((b) => ({ x: b.x2, drawn: (drawn += b.count) / total, expected: (theory += b.expected) / expectedTotal }))];
    return plot({
      width, height, marginLeft: 44, title, subtitle, x,
      y: { label: "share of synapses ≤ x", domain: [0, 1], grid: true },
      marks: [
        Plot.line(points, { x: "x", y: "drawn", stroke: "#3b6fb6", strokeWidth: 2, curve: "step-after" }),
        Plot.line(points, { x: "x", y: "expected", stroke: "#c2410c", strokeWidth: 1.5, strokeDasharray: "4 3" }),
        Plot.ruleY([0]),
      ],
    });
  }
  const y = { label: "synapses", grid: true, type: yScale, tickFormat: countTick };
  if (constant) {
    // A point mass: one rule at the value with its count, not a bar across the whole axis.
    const value = pathway.min;
    return plot({
      width, height, marginLeft: 48, title, subtitle,
      x: { label: axisLabel(property), domain: domain ?? [value - Math.max(1, Math.abs(value) * 0.1), value + Math.max(1, Math.abs(value) * 0.1)] },
      y,
      marks: [
        Plot.ruleX([value], { y1: 0, y2: pathway.count, stroke: "#3b6fb6", strokeWidth: 3 }),
        Plot.dot([{ value, count: pathway.count }], { x: "value", y: "count", r: 4, fill: "#3b6fb6" }),
        Plot.text([{ value, count: pathway.count }], { x: "value", y: "count", text: (d) => `all ${d.count} = ${+d.value.toPrecision(6)}`, dy: -8, dx: 4, textAnchor: "start" }),
        Plot.ruleY([0]),
      ],
    });
  }
  const theory = integer
    ? Plot.dot(bins, { x: "centre", y: "expected", r: 3, fill: "#c2410c", title: (d) => `expected ${d.expected.toFixed(1)}` })
    : Plot.line(bins, { x: "centre", y: "expected", stroke: "#c2410c", strokeWidth: 2, curve: "monotone-x" });
  // The values the file held before, on the same bins, as a grey outline (before vs after).
  const before = pathway.previous
    ? [Plot.line([{ x: edges[0], y: 0 }, ...pathway.previous.counts.flatMap((count, i) => [{ x: edges[i], y: count }, { x: edges[i + 1], y: count }]), { x: edges.at(-1), y: 0 }],
      { x: "x", y: "y", stroke: "#6b7280", strokeWidth: 1.5, strokeDasharray: "3 2", className: "before-values" })]
    : [];
  return plot({
    width, height, marginLeft: 48, title, subtitle, x, y,
    marks: [
      Plot.rectY(bins, { x1: "x1", x2: "x2", y: "count", fill: "#3b6fb6", fillOpacity: 0.75, inset: integer ? 2 : 0.5,
        title: (d) => `${d.count} synapses in [${d.x1.toPrecision(4)}, ${d.x2.toPrecision(4)})` }),
      ...before,
      theory,
      Plot.ruleY([0]),
    ],
  });
}

/** A property's drawn mean per source × target as a heat map (many pathways: 37 mtypes make
 * 1,369), each cell titled with its synapses and the spec's mean. */
export function meanHeatmap(propertyStats) {
  const sources = [...new Set(propertyStats.pathways.map((p) => p.source))];
  const targets = [...new Set(propertyStats.pathways.map((p) => p.target))];
  const longest = Math.max(...sources.map((s) => s.length), 4);
  const size = Math.max(8, Math.min(22, Math.floor(640 / Math.max(targets.length, 1))));
  return plot({
    description: `mean ${propertyStats.property} per pathway, ${propertyStats.pathways.length} pathways`,
    title: `mean ${axisLabel(propertyStats.property)} per pathway (rows: source, columns: target)`,
    width: 60 + longest * 6 + size * targets.length, height: 90 + size * sources.length,
    marginLeft: 10 + longest * 6, marginBottom: 80,
    x: { domain: targets, label: null, tickRotate: -60 },
    y: { domain: sources, label: null },
    color: { type: "linear", scheme: "viridis", legend: true, label: `mean ${propertyStats.property}` },
    marks: [Plot.cell(propertyStats.pathways, { x: "target", y: "source", fill: "mean", inset: 0.5,
      title: (p) => `${p.source} → ${p.target}: ${p.count} synapses, mean ${p.mean?.toPrecision(4)} (spec ${p.theoretical_mean?.toPrecision(4) ?? "—"})` })],
  });
}

/** Pathways drawn as histograms at once; the rest on request (the heat map shows them all). */
export const MAX_CHARTS = 12;

/** Observable Plot's own rules, for exported files (the page has them in its stylesheet). */
const EXPORT_STYLE = "svg{font:10px system-ui,sans-serif;background:white}text{white-space:pre}";
const escapeXml = (text) => String(text).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);

/** A self-contained SVG document of one chart with its title and spec written into it, so that
 * an exported figure says what it shows. */
export function standaloneSvg(svg, { title, subtitle }) {
  const width = Number(svg.getAttribute("width")) || 320;
  const height = Number(svg.getAttribute("height")) || 190;
  const head = 44;
  const inner = new XMLSerializer().serializeToString(svg);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + head}" viewBox="0 0 ${width} ${height + head}">` +
    `<style>${EXPORT_STYLE}</style><rect width="100%" height="100%" fill="white"/>` +
    `<text x="6" y="16" font-size="13" font-weight="600">${escapeXml(title)}</text>` +
    `<text x="6" y="34" font-size="10">${escapeXml(subtitle)}</text>` +
    `<g transform="translate(0,${head})">${inner}</g></svg>`;
}

/** A PNG (Blob) of an SVG document, at `scale` times its size. */
export async function svgToPng(svgText, scale = 2) {
  const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error("the figure could not be rendered as an image"));
      image.src = url;
    });
    const canvas = document.createElement("canvas");
    canvas.width = image.width * scale;
    canvas.height = image.height * scale;
    const context = canvas.getContext("2d");
    context.scale(scale, scale);
    context.drawImage(image, 0, 0);
    return await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A safe file name for a figure. */
export const figureName = (...parts) => parts.join("_").replace(/[^A-Za-z0-9_.-]/g, "_");

/** A figure per property: one chart per pathway with synapses, in a wrapping grid, each with
 * SVG and PNG downloads (title and spec inside). `between()` is awaited after each chart (the
 * page yields a frame there, so that no single task of the main thread draws a whole figure);
 * `population` names the edge population in the caption when a run has several; `connections`:
 * the population's connections per pathway ("source → target": count); `options`: see
 * DEFAULT_FIGURE_OPTIONS. */
export async function propertyFigure(propertyStats, { between = async () => {}, population = null, connections = {}, options = DEFAULT_FIGURE_OPTIONS } = {}) {
  const figure = document.createElement("figure");
  figure.className = "property-figure";
  const caption = document.createElement("figcaption");
  const overlay = options.view === "cdf" ? "dashed: expected" : propertyStats.pathways.some((p) => p.histogram.integer) ? "dots: expected from the spec" : "line: expected from the spec";
  const hadValues = options.view !== "cdf" && propertyStats.pathways.some((p) => p.previous);
  caption.textContent = `${propertyStats.property}${population ? ` in ${population}` : ""} — ${options.view === "cdf" ? "steps: drawn (cumulative)" : "bars: drawn"}; ${overlay}${hadValues ? "; grey dashes: the file's values before" : ""}`;
  figure.append(caption);
  const grid = document.createElement("div");
  grid.className = "histogram-grid";
  const domain = options.sharedX ? sharedDomain(propertyStats.pathways) : null;
  // Many pathways: a heat map of all of them, and histograms of the ones with the most synapses.
  const many = propertyStats.pathways.length > MAX_CHARTS && !options.allCharts;
  const drawn = many ? [...propertyStats.pathways].sort((a, b) => b.count - a.count).slice(0, MAX_CHARTS) : propertyStats.pathways;
  if (many) {
    const heatmap = meanHeatmap(propertyStats);
    heatmap.classList.add("mean-heatmap");
    figure.append(heatmap);
    const more = Object.assign(document.createElement("p"), { className: "note" });
    more.textContent = `Histograms of the ${MAX_CHARTS} pathways with the most synapses (of ${propertyStats.pathways.length}); `;
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: `show all ${propertyStats.pathways.length}`, className: "show-all-charts" });
    more.append(button);
    figure.append(more);
    button.addEventListener("click", async () => {
      button.disabled = true;
      const all = await propertyFigure(propertyStats, { between, population, connections, options: { ...options, allCharts: true } });
      for (const key of Object.keys(figure.dataset)) all.dataset[key] = figure.dataset[key];
      all.className = figure.className;
      figure.replaceWith(all);
    });
  }
  for (const pathway of drawn) {
    const pathwayConnections = connections[`${pathway.source} → ${pathway.target}`];
    const chart = histogram(propertyStats.property, pathway, { domain, yScale: options.yScale, view: options.view, connections: pathwayConnections });
    const svg = chart.tagName.toLowerCase() === "svg" ? chart : chart.querySelector("svg");
    const words = { title: `${propertyStats.property}${population ? ` in ${population}` : ""}: ${pathway.source} → ${pathway.target}`, subtitle: pathwaySubtitle(pathway, pathwayConnections) };
    const text = standaloneSvg(svg, words);
    const name = figureName(...(population ? [population] : []), propertyStats.property, pathway.source, pathway.target);
    const svgLink = document.createElement("a");
    svgLink.textContent = "SVG";
    svgLink.className = "svg-download";
    svgLink.download = `${name}.svg`;
    svgLink.href = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    const pngButton = Object.assign(document.createElement("button"), { type: "button", textContent: "PNG", className: "png-download" });
    pngButton.setAttribute("aria-label", `PNG of ${words.title}`);
    svgLink.setAttribute("aria-label", `SVG of ${words.title}`);
    pngButton.addEventListener("click", async () => {
      const link = document.createElement("a");
      link.download = `${name}.png`;
      link.href = URL.createObjectURL(await svgToPng(text));
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    });
    chart.dataset.figureName = name;
    chart.svgText = text; // for "download all figures"
    const actions = Object.assign(document.createElement("p"), { className: "figure-actions" });
    actions.append(svgLink, pngButton);
    chart.append(actions);
    grid.append(chart);
    if (pathway.scatter) grid.append(scatterChart(propertyStats.property, pathway));
    await between();
  }
  figure.append(grid);
  return figure;
}

/** Axis labels of the attributes the core derives. */
const ATTRIBUTE_LABELS = { distance_soma: "distance from the presynaptic soma (µm)" };

/** A pathway's drawn values against the attribute its spec reads (the core's kept synapses,
 * `pathway.scatter`), translucent dots so that dense regions show dark, with the spec's mean as a
 * function of the attribute drawn over them. */
export function scatterChart(property, pathway, { width = 320, height = 190 } = {}) {
  const { attribute, points, mean_line: line } = pathway.scatter;
  const chart = plot({
    description: `${property} against ${attribute}, ${pathway.source} → ${pathway.target}: ${points.length} synapses and the model's mean`,
    width, height, marginLeft: 48,
    title: `${pathway.source} → ${pathway.target}: ${property} against ${attribute}`,
    subtitle: `${points.length} of ${pathway.count} synapses (a fixed sample); line: the model's mean`,
    x: { label: ATTRIBUTE_LABELS[attribute] ?? attribute, grid: true },
    y: { label: axisLabel(property), grid: true },
    marks: [
      Plot.dot(points, { x: "0", y: "1", r: 1.5, fill: "#3b6fb6", fillOpacity: 0.25 }),
      Plot.line(line, { x: "0", y: "1", stroke: "#c2410c", strokeWidth: 2 }),
    ],
  });
  chart.classList.add("attribute-scatter");
  chart.dataset.attribute = attribute;
  return chart;
}
