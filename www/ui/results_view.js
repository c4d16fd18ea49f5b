// The results' view: the statistics table (rows of pathways whose statistics changed since the
// last run marked), the downloads, and the histograms drawn one figure per frame so the page stays
// responsive. Data-bearing DOM is built as text nodes: names and values from configs and circuits
// are shown literally, never parsed as markup.
import { propertyFigure, fitText } from "./plots.js";
import { pathwayKey, statisticsFingerprints, changedPathways, summaryCsv, taskOfRun } from "./summary.js";

const format = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(4));
const nextFrame = () => new Promise((resolve) => (globalThis.requestAnimationFrame ?? setTimeout)(resolve));

/**
 * Mount the results view. `$`: element by id; `table`: the results table's body; `download(name,
 * blob)`: a download link; `columnsOf(population)`: a Promise of the File of a population's drawn
 * columns (for runs made without them). Returns `{show(data, detail, {configText, zipButton})}`.
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
  let shown = null; // {populations, changed} of the run on view, redrawn when options change

  /** The figure options the toolbar sets. */
  function figureOptions() {
    return {
      sharedX: $("figure-shared-x").checked,
      yScale: $("figure-y-scale").value,
      view: $("figure-view").value,
    };
  }

  async function drawFigures(populations, changed) {
    $("histograms").replaceChildren();
    delete $("histograms").dataset.complete;
    const ticket = ++drawing;
    const options = figureOptions();
    for (const population of populations) {
      for (const property of population.stats) {
        await nextFrame();
        if (ticket !== drawing) return;
        const figure = await propertyFigure(property, { between: nextFrame, population: populations.length > 1 ? population.name : null, connections: population.connections ?? {}, options });
        if (ticket !== drawing) return;
        figure.classList.toggle("changed", property.pathways.some((p) => changed.has(pathwayKey(population, property, p))));
        figure.dataset.property = property.property;
        figure.dataset.population = population.name;
        $("histograms").append(figure);
      }
    }
    applyPopulationFilter();
    $("histograms").dataset.complete = "true";
  }

  /** Show only the rows and figures of the chosen edge population and property, and the rows of
   * pathways whose names contain the pathway filter ("" shows all). */
  function applyPopulationFilter() {
    const population = $("population-filter").value;
    const property = $("property-filter").value;
    const pathway = $("pathway-filter").value.trim().toLowerCase();
    let shown = 0;
    for (const row of table.rows) {
      const heading = row.classList.contains("population-row");
      row.hidden = (Boolean(population) && row.dataset.population !== population)
        || (!heading && Boolean(property) && row.dataset.property !== property)
        || (!heading && Boolean(pathway) && !row.cells[1].textContent.toLowerCase().includes(pathway));
      if (!heading && !row.hidden) shown++;
    }
    for (const figure of $("histograms").children) {
      figure.hidden = (Boolean(population) && figure.dataset.population !== population) || (Boolean(property) && figure.dataset.property !== property);
    }
    const total = [...table.rows].filter((r) => !r.classList.contains("population-row")).length;
    $("results-count").textContent = shown === total ? `${total} rows` : `${shown} of ${total} rows shown`;
  }
  for (const id of ["population-filter", "property-filter"]) $(id).addEventListener("change", applyPopulationFilter);
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
    show(data, detail, { configText, zipButton }) {
      const current = statisticsFingerprints(data.populations);
      const changed = changedPathways(previous, current);
      previous = current;
      // Several edge populations: each under a heading row, so equal pathways stay apart.
      const several = data.populations.length > 1;
      const heading = (population) => {
        const row = Object.assign(document.createElement("tr"), { className: "population-row" });
        row.dataset.population = population.name;
        row.append(Object.assign(document.createElement("th"), { colSpan: 12, textContent: `${population.name} (${population.source} → ${population.target}, ${population.size} synapses)` }));
        return row;
      };
      const rows = data.populations.flatMap((population) => (several ? [heading(population)] : []).concat(population.stats.flatMap((property) => property.pathways.map((p) => {
        const row = document.createElement("tr");
        if (changed.has(pathwayKey(population, property, p))) row.className = "changed";
        row.dataset.property = property.property;
        const connections = population.connections?.[`${p.source} → ${p.target}`];
        for (const text of [property.property, `${p.source} → ${p.target}`, String(p.count), format(p.mean), format(p.std), format(p.min), format(p.max),
          `${(100 * p.clipped_share).toFixed(1)} %`, format(p.theoretical_mean), format(p.theoretical_std), connections === undefined ? "" : String(connections),
          p.goodness_of_fit ? (p.goodness_of_fit.p_value < 1e-4 ? p.goodness_of_fit.p_value.toExponential(1) : p.goodness_of_fit.p_value.toPrecision(2)) : "—"]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        // The fit's p-value: its draws and degrees of freedom on hover; a very small one stands out.
        row.cells[11].title = fitText(p);
        if (p.goodness_of_fit && p.goodness_of_fit.p_value < 1e-3) row.cells[11].classList.add("misfit");
        row.cells[1].title = p.formula; // the spec, as the core words it
        row.dataset.population = population.name;
        return row;
      }))));
      table.replaceChildren(...rows);
      $("results").hidden = false;
      $("population-filter").replaceChildren(new Option(several ? `all ${data.populations.length} edge populations` : data.populations[0]?.name ?? "", ""),
        ...(several ? data.populations.map((population) => new Option(population.name, population.name)) : []));
      $("population-filter").disabled = !several;
      const properties = [...new Set(data.populations.flatMap((population) => population.stats.map((property) => property.property)))];
      const previousProperty = $("property-filter").value;
      $("property-filter").replaceChildren(new Option(`all ${properties.length} properties`, ""), ...properties.map((p) => new Option(p, p, false, p === previousProperty)));
      applyPopulationFilter();
      $("figure-options").hidden = false;
      shown = { populations: data.populations, changed };
      const task = taskOfRun(configText, data);
      $("downloads").replaceChildren(
        zipButton,
        ...Object.entries(detail.edges).map(([name, file]) => download(name.replaceAll("/", "__"), file)),
        ...data.populations.map((population) => columnsDownload(population.name, detail.columns[population.name])),
        download("summary.csv", new Blob([summaryCsv(data.populations)], { type: "text/csv" })),
        download("config.json", new Blob([JSON.stringify(task, null, 2)], { type: "application/json" })),
      );
      drawFigures(data.populations, changed);
    },
  };
}
