// The scan view: the points of a scan run in the page compared — per edge population, property and
// pathway the points' histograms overlaid (one colour per point (marks of class scan-point), drawn with Observable Plot from
// the core's histograms), a table of the core's statistics by point, the axes as controls (a value
// per axis picks the matching points: highlighted, the others faded), a zip per point and of all. What the
// scan is (its axes, points, names, what each point changes) is the core's plan; this only shows it.
import * as Plot from "@observablehq/plot";
import { plot, axisLabel, countTick, figureName, MAX_CHARTS } from "./plots.js";
import { format, formatStd } from "./results_view.js";

/** A value as the config gives it (numbers, strings, whole specs as JSON). */
const shownValue = (value) => (typeof value === "string" ? value : JSON.stringify(value));
/** A point's words: its axis values, `label = value` per axis. */
export const pointWords = (scan, point) => scan.axes.map((axis, i) => `${axis.label} = ${shownValue(point.values[i])}`).join(", ");

/** The scan in one line: its mode, its axes with their values, its point count. */
export function scanLine(scan) {
  const axes = scan.axes.map((axis) => `${axis.label} ∈ {${axis.values.map(shownValue).join(", ")}}`).join("; ");
  return `${scan.mode} scan of ${scan.points.length} point${scan.points.length === 1 ? "" : "s"}: ${axes || "no axis"}`;
}

/** Whether any point of the scan draws (property, source → target) differently from the first
 * (the core's `changes` of each point; a null source or target there means every one). */
function changedInScan(scan, property, source, target) {
  return scan.points.some(({ changes }) => changes.kind === "everything" || changes.changed.some((c) =>
    c.property === property && (c.source === null || c.source === source) && (c.target === null || c.target === target)));
}

/** Wait for the next frame (a figure per task: the page stays responsive). */
const nextFrame = () => new Promise((resolve) => (globalThis.requestAnimationFrame ?? setTimeout)(() => setTimeout(resolve, 0)));

/** One pathway's histograms of every point: a step outline per point in its colour (the selected
 * points strong, the others faded); a cell no point changes drawn once, said "same in every point". */
function overlayChart(property, pathways, { labels, selected, same }) {
  const first = pathways[0].pathway;
  const series = (subset) => subset.flatMap(({ label, pathway: { histogram: { edges, counts } } }) => [
    { label, x: edges[0], y: 0 }, ...counts.flatMap((count, i) => [{ label, x: edges[i], y: count }, { label, x: edges[i + 1], y: count }]), { label, x: edges.at(-1), y: 0 }]);
  const shown = same ? pathways.slice(0, 1) : pathways;
  const strong = shown.filter((p) => same || selected.has(p.label));
  const faint = shown.filter((p) => !same && !selected.has(p.label));
  // Point masses (every shown point's values one number, as plots.js draws one): a rule per point.
  const constant = shown.every(({ pathway: p }) => p.count > 0 && p.min === p.max);
  const masses = (subset) => subset.map(({ label, pathway: p }) => ({ label, value: p.min, count: p.count }));
  const lo = Math.min(...shown.map((p) => p.pathway.min));
  const hi = Math.max(...shown.map((p) => p.pathway.max));
  const pad = Math.max(1, Math.abs(hi) * 0.1);
  const marks = constant
    ? [Plot.ruleX(masses(faint), { x: "value", y1: 0, y2: "count", stroke: "label", strokeOpacity: 0.2, strokeWidth: 3, className: "scan-point" }),
      Plot.ruleX(masses(strong), { x: "value", y1: 0, y2: "count", stroke: same ? "#3b6fb6" : "label", strokeWidth: 3, className: "scan-point" }),
      Plot.dot(masses(strong), { x: "value", y: "count", r: 4, fill: same ? "#3b6fb6" : "label" })]
    : [Plot.line(series(faint), { x: "x", y: "y", z: "label", stroke: "label", strokeOpacity: 0.2, strokeWidth: 1, className: "scan-point" }),
      Plot.line(series(strong), { x: "x", y: "y", z: "label", stroke: same ? "#3b6fb6" : "label", strokeWidth: 2, className: "scan-point" })];
  return plot({
    description: `${property}, ${first.source} → ${first.target}: ${same ? "the same values in every point" : `the histograms of ${pathways.length} points`}`,
    width: 360, height: 200, marginLeft: 48,
    title: `${first.source} → ${first.target}`,
    subtitle: same ? `same in every point (${first.count} synapses; no point changes this pathway's ${property})` : `${pathways.length} points overlaid; ${strong.length} selected`,
    x: { label: axisLabel(property), ...(constant ? { domain: [lo - pad, hi + pad] } : {}) },
    y: { label: "synapses", grid: true, tickFormat: countTick },
    color: { domain: labels, scheme: "tableau10" },
    marks: [...marks, Plot.ruleY([0])],
  });
}

// Long by design: the view's closure holds its state (the scan on view, the selection), shared by
// the short functions inside it.
/**
 * Mount the scan view. `$`: element by id; `zipOf(point)`: a Promise of the zip (Blob) of a point
 * (its index) of the scan on view, or (null) of every point in the command's scan layout; `download(name, blob)`: a download link. Returns `{show(scan,
 * points), clear()}`: `scan` as the worker's scanSummary, `points` each point's run (with `populations`
 * and their `stats`, in point order).
 */
export function mountScanView({ $, zipOf, download }) {
  let shown = null; // {scan, points}
  let drawing = 0;
  let showAll = false; // every figure drawn, not only the first MAX_CHARTS

  /** The points matching the axis controls (an axis left at "every value" matches all). */
  function selectedPoints() {
    const chosen = shown.scan.axes.map((_, i) => $("scan-axes").querySelector(`select[data-axis='${i}']`).value);
    return shown.scan.points.filter((point) => chosen.every((value, i) => value === "" || Number(value) === point.valueIndices[i]));
  }

  function axisControls() {
    const controls = shown.scan.axes.map((axis, i) => {
      const select = Object.assign(document.createElement("select"), { id: `scan-axis-${i}` });
      select.dataset.axis = String(i);
      select.append(new Option("every value", ""), ...axis.values.map((value, j) => new Option(shownValue(value), String(j))));
      select.addEventListener("change", () => draw());
      const label = Object.assign(document.createElement("label"), { textContent: `${axis.label} ` });
      label.title = axis.path;
      label.append(select);
      return label;
    });
    $("scan-axes").replaceChildren(...controls);
  }

  /** A button that downloads, as `name`, the zip of a point (its index), or of all (null). */
  function zipButton(text, name, point) {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: text });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        download(name, await zipOf(point)).click();
      } catch { /* shown in the status line */ } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  /** The legend: a colour per point, named by its axis values; a zip of each point. */
  function legend(labels, selected) {
    const swatches = Plot.legend({ color: { domain: labels, scheme: "tableau10" }, swatchSize: 12 });
    const list = shown.scan.points.map((point) => {
      const item = Object.assign(document.createElement("li"), { textContent: `${point.name}: ${pointWords(shown.scan, point)} ` });
      item.dataset.point = point.name;
      item.dataset.selected = String(selected.has(point.name));
      const button = zipButton("zip", `${point.name}.zip`, point.index);
      button.className = "scan-point-zip";
      button.setAttribute("aria-label", `zip of scan point ${point.name}`);
      button.dataset.point = String(point.index);
      item.append(button);
      return item;
    });
    const ul = Object.assign(document.createElement("ul"), { className: "scan-points" });
    ul.append(...list);
    const all = zipButton("all points (.zip, the command's scan layout)", "scan.zip", null);
    all.id = "scan-zip-all";
    $("scan-legend").replaceChildren(swatches, ul, all);
  }

  /** The core's statistics by point: a row per property, pathway and point (a pathway no point
   * changes: one row, "every point"), the selected points' rows marked. */
  function statisticsTable(cells, selected) {
    const rows = [];
    for (const { population, property, same, pathways } of cells) {
      for (const { point, pathway } of same ? pathways.slice(0, 1) : pathways) {
        const tr = document.createElement("tr");
        const values = [population, property, `${pathway.source} → ${pathway.target}`, same ? "every point (same values)" : point.name, String(pathway.count), format(pathway.mean), formatStd(pathway)];
        for (const value of values) tr.append(Object.assign(document.createElement("td"), { textContent: value }));
        tr.dataset.point = same ? "" : point.name;
        tr.dataset.selected = String(same || selected.has(point.name));
        rows.push(tr);
      }
    }
    $("scan-table").querySelector("tbody").replaceChildren(...rows);
  }

  /** The cells of the scan on view: per population, property and pathway (as the first point has
   * them), each point's statistics of that same cell — matched by name, not position, so points
   * whose pathway values, properties or populations differ (an axis on src_types, a whole
   * prop_stats, edge_populations) leave out the cells they lack. */
  function cellsOf() {
    const cells = [];
    const first = shown.points[0];
    for (const population of first.populations) {
      for (const property of population.stats) {
        for (const pathway of property.pathways) {
          const pathways = shown.points.map((run, i) => ({
            point: shown.scan.points[i], label: shown.scan.points[i].name,
            pathway: run.populations.find((p) => p.name === population.name)?.stats.find((s) => s.property === property.property)
              ?.pathways.find((other) => other.source === pathway.source && other.target === pathway.target),
          })).filter((entry) => entry.pathway);
          cells.push({ population: population.name, property: property.property, same: !changedInScan(shown.scan, property.property, pathway.source, pathway.target), pathways });
        }
      }
    }
    return cells;
  }

  async function draw() {
    const ticket = ++drawing;
    const view = $("scan-view");
    delete view.dataset.complete;
    const points = selectedPoints();
    const selected = new Set(points.map((p) => p.name));
    view.dataset.selected = points.map((p) => p.name).join(" ");
    const labels = shown.scan.points.map((p) => p.name);
    legend(labels, selected);
    const cells = cellsOf();
    statisticsTable(cells, selected);
    $("scan-figures").replaceChildren();
    // The pathways a point changes first; at most MAX_CHARTS figures unless all are asked for (a
    // real circuit has hundreds of pathways).
    const ordered = [...cells.filter((c) => !c.same), ...cells.filter((c) => c.same)];
    const drawn = showAll ? ordered : ordered.slice(0, MAX_CHARTS);
    for (const cell of drawn) {
      await nextFrame();
      if (ticket !== drawing) return;
      const chart = overlayChart(cell.property, cell.pathways, { labels, selected, same: cell.same });
      const figure = document.createElement("figure");
      figure.className = "scan-figure";
      Object.assign(figure.dataset, { population: cell.population, property: cell.property, pathway: `${cell.pathways[0].pathway.source} → ${cell.pathways[0].pathway.target}`, same: String(cell.same) });
      figure.dataset.figureName = figureName(cell.population, cell.property, cell.pathways[0].pathway.source, cell.pathways[0].pathway.target);
      figure.append(Object.assign(document.createElement("figcaption"), { textContent: `${cell.property} in ${cell.population}` }), chart);
      $("scan-figures").append(figure);
    }
    if (drawn.length < ordered.length) {
      const more = Object.assign(document.createElement("p"), { className: "note", textContent: `${drawn.length} of ${ordered.length} figures (the changed pathways first); ` });
      const button = Object.assign(document.createElement("button"), { type: "button", id: "scan-show-all", textContent: `show all ${ordered.length}` });
      button.addEventListener("click", () => {
        showAll = true;
        draw();
      });
      more.append(button);
      $("scan-figures").append(more);
    }
    view.dataset.complete = "true";
  }

  return {
    show(scan, points) {
      shown = { scan, points };
      showAll = false;
      $("scan-view").hidden = false;
      $("scan-summary").textContent = `${scanLine(scan)}${scan.notes.length ? ` — ${scan.notes.join("; ")}` : ""}`;
      axisControls();
      return draw();
    },
    clear() {
      drawing++;
      shown = null;
      $("scan-view").hidden = true;
      delete $("scan-view").dataset.complete;
      for (const id of ["scan-axes", "scan-legend", "scan-figures"]) $(id).replaceChildren();
      $("scan-table").querySelector("tbody").replaceChildren();
    },
  };
}
