// The results' view: the statistics table (rows of pathways whose statistics changed since the
// last run marked), the downloads, and the histograms drawn one figure per frame so the page stays
// responsive. Data-bearing DOM is built as text nodes: names and values from configs and circuits
// are shown literally, never parsed as markup.
import { propertyFigure } from "./plots.js";
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

  async function drawFigures(populations, changed) {
    $("histograms").replaceChildren();
    delete $("histograms").dataset.complete;
    const ticket = ++drawing;
    for (const population of populations) {
      for (const property of population.stats) {
        await nextFrame();
        if (ticket !== drawing) return;
        const figure = await propertyFigure(property, { between: nextFrame, population: populations.length > 1 ? population.name : null });
        if (ticket !== drawing) return;
        figure.classList.toggle("changed", property.pathways.some((p) => changed.has(pathwayKey(population, property, p))));
        figure.dataset.property = property.property;
        figure.dataset.population = population.name;
        $("histograms").append(figure);
      }
    }
    $("histograms").dataset.complete = "true";
  }

  return {
    /** Remove a run's results (a new circuit was chosen: they no longer describe it). */
    clear() {
      drawing++;
      previous = null;
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
        row.append(Object.assign(document.createElement("th"), { colSpan: 10, textContent: `${population.name} (${population.source} → ${population.target}, ${population.size} synapses)` }));
        return row;
      };
      const rows = data.populations.flatMap((population) => (several ? [heading(population)] : []).concat(population.stats.flatMap((property) => property.pathways.map((p) => {
        const row = document.createElement("tr");
        if (changed.has(pathwayKey(population, property, p))) row.className = "changed";
        row.dataset.property = property.property;
        for (const text of [property.property, `${p.source} → ${p.target}`, String(p.count), format(p.mean), format(p.std), format(p.min), format(p.max),
          `${(100 * p.clipped_share).toFixed(1)} %`, format(p.theoretical_mean), format(p.theoretical_std)]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        row.dataset.population = population.name;
        return row;
      }))));
      table.replaceChildren(...rows);
      $("results").hidden = false;
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
