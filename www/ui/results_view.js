// The results' view: the statistics table (rows of pathways whose statistics changed since the
// last run marked), the downloads, and the histograms drawn one figure per frame so the page stays
// responsive. Data-bearing DOM is built as text nodes: names and values from configs and circuits
// are shown literally, never parsed as markup.
import { propertyFigure, fitText } from "./plots.js";
import { pathwayKey, statisticsFingerprints, changedPathways, summaryCsv, taskOfRun } from "./summary.js";

/** The population filter's value (and rows' and figures' `data-population`) of the core's
 * statistics over all edge populations together. */
const COMBINED = "\u0000combined";

export const format = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(4));
/** A pathway's std as read: none for one value, 0 for the rounding noise of equal values. */
/** The before-mean and ratio cells of a pathway ("—" when the run read no values before). */
const beforeCells = (previous) => (previous
  ? [format(previous.mean), previous.mean_ratio === null || previous.mean_ratio === undefined ? (previous.shifted ? "from 0" : "—") : `×${Number(previous.mean_ratio.toPrecision(3))}`]
  : ["—", "—"]);
export const formatStd = (p) => (p.count < 2 ? "—" : Math.abs(p.std) <= 1e-7 * Math.abs(p.mean) ? "0" : format(p.std));
/** Wait for the next frame, then go on in a task of its own: a figure drawn inside the frame's
 * task would add to that frame's layout and paint (one task over 100 ms on 37 mtypes). */
const nextFrame = () => new Promise((resolve) => (globalThis.requestAnimationFrame ?? setTimeout)(() => setTimeout(resolve, 0)));

// Long by design: the panel's closure holds its state, shared by the short functions inside it
// (each one a unit to read); splitting it would pass that state around instead.
/**
 * Mount the results view. `$`: element by id; `table`: the results table's body; `download(name,
 * blob)`: a download link; `columnsOf(population)`: a Promise of the File of a population's drawn
 * columns (for runs made without them). Returns `{show(data, detail, {configText, zipButton, extras})}`.
 */
export function mountResults({ $, table, download, columnsOf }) {
  /** A download of a population's columns: a link when the run kept them, else a button that has
   * them drawn (the same bits) and then downloads them. */
  function columnsDownload(population, file) {
    const name = `${population}.arrow`;
    if (file) return download(name, file);
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: name, className: "columns-download" });
    button.dataset.download = name;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const link = download(name, await columnsOf(population));
        link.click();
      } catch { /* shown in the status line */ } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  let previous = null; // fingerprints of the last run's statistics
  let drawing = 0; // a newer run's figures replace an older one's (whose drawing stops)
  let shown = null; // {populations, changed, combined} of the run on view, redrawn when options change

  /** The figure options the toolbar sets. */
  function figureOptions() {
    return {
      sharedX: $("figure-shared-x").checked,
      yScale: $("figure-y-scale").value,
      view: $("figure-view").value,
    };
  }

  /** Draw the figures of `populations` (the run's; the combined view is drawn when chosen). */
  async function drawFigures(populations, changed) {
    $("histograms").replaceChildren();
    delete $("histograms").dataset.complete;
    const ticket = ++drawing;
    const options = figureOptions();
    const combining = $("population-filter").value === COMBINED && shown?.combined;
    if (combining) populations = [shown.combined];
    // Only the figures the filters show are drawn (a real circuit has hundreds): a filter change
    // draws the ones it shows.
    const chosenPopulation = $("population-filter").value;
    const chosenProperty = $("property-filter").value;
    if (!combining && chosenPopulation) populations = populations.filter((p) => p.name === chosenPopulation);
    for (const population of populations) {
      for (const property of population.stats.filter((p) => !chosenProperty || p.property === chosenProperty)) {
        await nextFrame();
        if (ticket !== drawing) return;
        const figure = await propertyFigure(property, { between: nextFrame, population: populations.length > 1 || combining ? population.name : null, connections: population.connections ?? {}, options });
        if (ticket !== drawing) return;
        figure.classList.toggle("changed", property.pathways.some((p) => changed.has(pathwayKey(population, property, p))));
        figure.dataset.property = property.property;
        figure.dataset.population = combining ? COMBINED : population.name;
        $("histograms").append(figure);
      }
    }
    applyPopulationFilter();
    $("histograms").dataset.complete = "true";
  }

  /** The table's rows of the chosen edge population ("" every one apart, or the combined view)
   * and property ("" every one): only those are built (a real circuit has tens of thousands). */
  function renderRows() {
    if (!shown) return;
    const { populations, combined, changed } = shown;
    const chosenPopulation = $("population-filter").value;
    const chosenProperty = $("property-filter").value;
    const listed = chosenPopulation === COMBINED && combined ? [combined] : populations.filter((p) => !chosenPopulation || p.name === chosenPopulation);
    // Several edge populations: each under a heading row, so equal pathways stay apart.
    const headed = populations.length > 1;
    const heading = (population) => {
      const row = Object.assign(document.createElement("tr"), { className: "population-row" });
      row.dataset.population = population.combined ? COMBINED : population.name;
      row.append(Object.assign(document.createElement("th"), { colSpan: 14, textContent: population.combined
        ? `all ${populations.length} edge populations combined (${population.size} synapses)`
        : `${population.name} (${population.source} → ${population.target}, ${population.size} synapses)` }));
      return row;
    };
    const rows = listed.flatMap((population) => (headed ? [heading(population)] : []).concat(population.stats
      .filter((property) => !chosenProperty || property.property === chosenProperty)
      .flatMap((property) => property.pathways.map((p) => {
        const row = document.createElement("tr");
        if (changed.has(pathwayKey(population, property, p))) row.className = "changed";
        row.dataset.property = property.property;
        const connections = population.connections?.[`${p.source} → ${p.target}`];
        for (const text of [property.property, `${p.source} → ${p.target}`, String(p.count), format(p.mean), formatStd(p), format(p.min), format(p.max),
          `${(100 * p.clipped_share).toFixed(1)} %`, format(p.theoretical_mean), format(p.theoretical_std), connections === undefined ? "" : String(connections),
          p.goodness_of_fit ? (p.goodness_of_fit.p_value < 1e-4 ? p.goodness_of_fit.p_value.toExponential(1) : p.goodness_of_fit.p_value.toPrecision(2)) : "—",
          ...beforeCells(p.previous)]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        // A large shift from the file's values (the core decides: PreviousValues.shifted) stands out.
        if (p.previous?.shifted) {
          row.cells[13].classList.add("misfit");
          row.cells[13].title = `the new mean ${format(p.mean)} is far from the ${format(p.previous.mean)} the file held: check the model's units or calibration`;
        }
        // The fit's p-value: its draws and degrees of freedom on hover; a very small one stands out.
        row.cells[11].title = fitText(p);
        if (p.goodness_of_fit && p.goodness_of_fit.p_value < 1e-3) row.cells[11].classList.add("misfit");
        row.cells[1].title = p.formula; // the spec, as the core words it
        row.dataset.population = population.combined ? COMBINED : population.name;
        return row;
      }))));
    table.replaceChildren(...rows);
  }

  /** Show only the rows and figures of the chosen edge population and property, and the rows of
   * pathways whose names contain the pathway filter ("" shows all). */
  function applyPopulationFilter() {
    const population = $("population-filter").value;
    const property = $("property-filter").value;
    const pathway = $("pathway-filter").value.trim().toLowerCase();
    let visible = 0;
    for (const row of table.rows) {
      const heading = row.classList.contains("population-row");
      // The combined rows only in the combined view; "" shows every population apart.
      const ofCombined = row.dataset.population === COMBINED;
      row.hidden = (population === COMBINED ? !ofCombined : ofCombined || (Boolean(population) && row.dataset.population !== population))
        || (!heading && Boolean(property) && row.dataset.property !== property)
        || (!heading && Boolean(pathway) && !row.cells[1].textContent.toLowerCase().includes(pathway));
      if (!heading && !row.hidden) visible++;
    }
    for (const figure of $("histograms").children) {
      const ofCombined = figure.dataset.population === COMBINED;
      figure.hidden = (population === COMBINED ? !ofCombined : ofCombined || (Boolean(population) && figure.dataset.population !== population))
        || (Boolean(property) && figure.dataset.property !== property);
    }
    const total = [...table.rows].filter((r) => !r.classList.contains("population-row") && (population === COMBINED) === (r.dataset.population === COMBINED)).length;
    $("results-count").textContent = visible === total ? `${total} rows` : `${visible} of ${total} rows shown`;
  }
  // A filter change shows its rows and draws its figures.
  const refilter = () => {
    renderRows();
    applyPopulationFilter();
    if (shown) drawFigures(shown.populations, shown.changed);
  };
  $("property-filter").addEventListener("change", refilter);
  $("population-filter").addEventListener("change", refilter);
  $("pathway-filter").addEventListener("input", applyPopulationFilter);
  for (const id of ["figure-shared-x", "figure-y-scale", "figure-view"]) {
    $(id).addEventListener("change", () => { if (shown) drawFigures(shown.populations, shown.changed); });
  }
  $("all-columns").addEventListener("change", () => $("results").classList.toggle("all-columns", $("all-columns").checked));

  /** Every drawn figure as SVG files (title and spec inside) in one zip. */
  $("download-figures").addEventListener("click", async () => {
    const button = $("download-figures");
    button.disabled = true;
    try {
      const { ZipWriter, BlobWriter, TextReader } = await import("@zip.js/zip.js");
      const zip = new ZipWriter(new BlobWriter("application/zip"));
      for (const chart of $("histograms").querySelectorAll("[data-figure-name]")) {
        if (chart.closest("[hidden]")) continue;
        await zip.add(`${chart.dataset.figureName}.svg`, new TextReader(chart.svgText));
      }
      download("figures.zip", await zip.close()).click();
    } finally {
      button.disabled = false;
    }
  });

  return {
    /** Remove a run's results (a new circuit was chosen: they no longer describe it). */
    clear() {
      drawing++;
      previous = null;
      shown = null;
      $("figure-options").hidden = true;
      $("results-none").hidden = false;
      $("results-controls").hidden = true;
      $("population-filter").replaceChildren();
      $("property-filter").replaceChildren();
      $("results-count").textContent = "";
      table.replaceChildren();
      $("results").hidden = true;
      $("downloads").replaceChildren();
      $("histograms").replaceChildren();
      delete $("histograms").dataset.complete;
    },
    /** Show a run's result message (`data`) and its host-side results (`detail`). */
    show(data, detail, { configText, zipButton, extras = [] }) {
      const current = statisticsFingerprints(data.populations);
      const changed = changedPathways(previous, current);
      previous = current;
      const several = data.populations.length > 1;
      // The core's statistics over all populations together, as one more (filtered) population.
      const combined = several && data.combined ? { name: "all edge populations", source: "*", target: "*", size: data.combined.size, stats: data.combined.stats, connections: data.combined.connections, combined: true } : null;
      $("results").hidden = false;
      $("results-none").hidden = true;
      $("results-controls").hidden = false;
      // One population and one property at a time by default (the first ones; a choice made
      // before is kept), every one on request.
      const keep = shown ? $("population-filter").value : null;
      $("population-filter").replaceChildren(
        ...(several ? data.populations.map((population) => new Option(population.name, population.name)) : [new Option(data.populations[0]?.name ?? "", "")]),
        ...(combined ? [new Option(`all ${data.populations.length} edge populations combined`, COMBINED)] : []),
        ...(several ? [new Option(`all ${data.populations.length} edge populations, each apart`, "")] : []));
      if (keep !== null && [...$("population-filter").options].some((o) => o.value === keep)) $("population-filter").value = keep;
      $("population-filter").disabled = !several;
      const properties = [...new Set(data.populations.flatMap((population) => population.stats.map((property) => property.property)))];
      const previousProperty = shown ? $("property-filter").value : properties[0];
      // A property that changed since the last run says so in the filter (its figure may not be on view).
      const changedProperties = new Set(data.populations.flatMap((population) => population.stats
        .filter((property) => property.pathways.some((p) => changed.has(pathwayKey(population, property, p)))).map((property) => property.property)));
      $("property-filter").replaceChildren(...properties.map((p) => new Option(changedProperties.has(p) ? `${p} — changed since the last run` : p, p, false, p === previousProperty)),
        new Option(`all ${properties.length} properties`, "", false, previousProperty === ""));
      shown = { populations: data.populations, changed, combined };
      renderRows();
      applyPopulationFilter();
      $("figure-options").hidden = false;
      const task = taskOfRun(configText, data);
      $("downloads").replaceChildren(
        zipButton,
        ...Object.entries(detail.edges).map(([name, file]) => download(name.replaceAll("/", "__"), file)),
        ...data.populations.map((population) => columnsDownload(population.name, detail.columns[population.name])),
        download("summary.csv", new Blob([summaryCsv(data.populations)], { type: "text/csv" })),
        download("config.json", new Blob([JSON.stringify(task, null, 2)], { type: "application/json" })),
        ...extras,
      );
      drawFigures(data.populations, changed);
    },
  };
}
