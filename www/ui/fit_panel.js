// Fit from this circuit: a model fitted by the core from the loaded circuit's edges (the values its
// edges files hold), put into the model as one undoable step, with a data-vs-model view: per
// property, the data's mean per pathway as a heat map and a table of each pathway's data, law and
// fallback level; the model and the fit report to download.
import { meanHeatmap } from "./plots.js";
import { errorData } from "../run/protocol.js";
import { readFallback } from "./fallback_field.js";

/** "conductance=gamma, u_syn=truncnorm" as `{conductance: "gamma", …}`; null when empty. */
export function lawsOf(text) {
  const laws = {};
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const [property, law, extra] = part.split("=");
    if (!property || !law || extra !== undefined) throw Object.assign(new Error(`'${part}' is not property=law`), { name: "ConfigError" });
    laws[property] = law;
  }
  return Object.keys(laws).length ? laws : null;
}

/** A law's mean as its spec gives it (the data's mean where the spec does not say it directly). */
const specMean = (spec, fallback) => (typeof spec?.mean === "number" ? spec.mean : spec?.type === "constant" ? spec.mean : fallback);

/** A spec as the table shows it: its JSON, or for observed rows their count and table (the rows
 * themselves are in the model). */
const specText = (spec) => (spec?.type === "empirical" ? `empirical: ${spec.values?.length ?? 0} rows of table '${spec.table}'` : JSON.stringify(spec));

/**
 * Mount the fit form. `call(method, args, options)`: the worker; `circuit`: the circuit panel (its
 * message, whether one is shown); `download(name, blob)`: a download link; `onFitted(text)`: the
 * fitted model's JSON to put into the model. A failure is shown in the form.
 */
export function mountFit({ $, call, circuit, download, onFitted }) {
  const form = $("fit-form");
  let report = null;
  $("fit-open").addEventListener("click", () => {
    form.hidden = false;
    $("fit-property").textContent = $("pathway-property").value;
    $("fit-run").disabled = !circuit.shown();
    $("fit-status").textContent = circuit.shown() ? "" : "Load a circuit first: the fit reads its edges.";
    $("fit-mode").focus();
  });
  $("fit-close").addEventListener("click", () => {
    form.hidden = true;
    $("fit-open").focus();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("fit-close").click();
  });

  /** The data-vs-model view of one property: heat map of the data's means, table of every pathway. */
  function showProperty(property) {
    const entries = report.entries.filter((e) => e.property === property);
    const filledBy = new Map(report.pathways.map((p) => [`${p.source}\u0000${p.target}`, p.fallback?.name ?? null]));
    const stats = {
      property,
      pathways: entries.filter((e) => e.data).map((e) => ({ source: e.source, target: e.target, count: e.data.samples, mean: e.data.mean, theoretical_mean: specMean(e.spec, e.data.mean) })),
    };
    const figure = stats.pathways.length ? meanHeatmap(stats) : document.createTextNode("");
    const cell = (tag, text) => Object.assign(document.createElement(tag), { textContent: text });
    const head = document.createElement("tr");
    head.append(...["pathway", "samples", "data mean", "data std", "law", "fallback", "KS distance"].map((t) => Object.assign(cell("th", t), { scope: "col" })));
    const rows = entries.map((e) => {
      const row = document.createElement("tr");
      row.append(cell("td", `${e.source} → ${e.target}`), cell("td", e.data ? String(e.data.samples) : "—"),
        cell("td", e.data ? Number(e.data.mean).toPrecision(4) : "—"), cell("td", e.data ? Number(e.data.std).toPrecision(4) : "—"),
        cell("td", specText(e.spec)), cell("td", filledBy.get(`${e.source}\u0000${e.target}`) ?? "own data"),
        cell("td", e.ks_distance === null || e.ks_distance === undefined ? "—" : Number(e.ks_distance).toPrecision(3)));
      return row;
    });
    const table = Object.assign(document.createElement("table"), { id: "fit-table" });
    table.setAttribute("aria-label", `fitted ${property} per pathway`);
    table.append(head, ...rows);
    const scroll = Object.assign(document.createElement("div"), { className: "table-scroll", tabIndex: 0 });
    scroll.setAttribute("role", "region");
    scroll.setAttribute("aria-label", `fitted ${property} per pathway (scrolls)`);
    scroll.append(table);
    $("fit-view").replaceChildren(figure, scroll);
  }

  $("fit-run").addEventListener("click", async () => {
    $("fit-run").disabled = true;
    $("fit-status").textContent = "fitting…";
    $("fit-status").className = "";
    try {
      const laws = lawsOf($("fit-laws").value);
      const minText = $("fit-min-samples").value.trim();
      const result = await call("fit", {
        ...circuit.message(), property: $("pathway-property").value, mode: $("fit-mode").value, laws,
        minSamples: minText ? Number(minText) : null, fallback: readFallback($),
      }, { onProgress: ({ done, total, pass }) => {
        $("fit-progress").max = total;
        $("fit-progress").value = done;
        $("fit-status").textContent = `fitting… pass ${pass}`;
      } });
      report = result.report;
      onFitted(JSON.stringify(JSON.parse(result.modelText), null, 2));
      const properties = [...new Set(report.entries.map((e) => e.property))];
      const own = report.pathways.filter((p) => !p.fallback).length;
      const filled = Object.entries(report.fallback_levels ?? {}).map(([level, n]) => `${n} by ${level}`).join(", ");
      $("fit-status").textContent = `fitted ${properties.join(", ")} over ${report.pathways.length} pathways of ${result.populations.join(", ")} ` +
        `(${own} from their own data${filled ? `; filled: ${filled}` : ""}) — the model is in the editor (Undo takes it back)` +
        (result.warnings.length ? ` — ${result.warnings.join("; ")}` : "");
      $("fit-property-view").replaceChildren(...properties.map((p) => new Option(p, p)));
      $("fit-result-row").hidden = false;
      showProperty(properties[0]);
      $("fit-downloads").replaceChildren(
        download("fitted_model.json", new Blob([result.modelText], { type: "application/json" })),
        download("fit_report.json", new Blob([result.reportText], { type: "application/json" })));
    } catch (error) {
      if (error.name === "AbortError") return;
      const data = errorData(error);
      $("fit-status").textContent = `${data.name}: ${data.message}`;
      $("fit-status").className = "error";
    } finally {
      $("fit-run").disabled = !circuit.shown();
    }
  });
  $("fit-property-view").addEventListener("change", () => showProperty($("fit-property-view").value));
}
