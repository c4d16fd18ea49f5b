// The matrix editor's view: property × source value × target value, one button per pathway, a form
// for the selected cell with a live density preview. It reads and writes the config text (the one
// source of truth) through `config`; the distribution types and their parameters come from the
// core's spec schema (`setSchema`), never from a copy here.
import * as Plot from "@observablehq/plot";
import { axisLabel, plot } from "./plots.js";
import { distributionFields, modelOf, specLabel, specFromForm, applySpec, addProperty, removeProperty } from "./editor.js";
import { errorData } from "../run/protocol.js";

/**
 * Mount the editor on the UI's controls. `$`: element by id; `call`: the worker protocol's call;
 * `config`: `{get(): text, set(text)}`; `onEdited()`: after the editor changed the config.
 * Returns `{render, setSchema, download}`.
 */
export function mountEditor({ $, call, config, onEdited, download }) {
  let fields = {}; // distribution type → parameters, from the core
  let selected = null; // {source, target}
  const form = $("cell-form");

  function currentConfig() {
    try { return JSON.parse(config.get()); } catch { return null; }
  }

  function write(next) {
    config.set(JSON.stringify(next, null, 2));
    onEdited();
  }

  function render() {
    const parsed = currentConfig();
    const model = parsed && modelOf(parsed);
    // Only a model of the right shape is drawn as a grid; anything else waits for the JSON to be
    // fixed (the core's message under it says what is wrong).
    const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
    if (!isObject(model) || !isObject(model.prop_stats) || !Array.isArray(model.src_types) || !Array.isArray(model.tgt_types)
      || !Object.values(model.prop_stats).every(isObject) || ![...model.src_types, ...model.tgt_types].every((t) => typeof t === "string")) {
      $("editor-matrix").replaceChildren(Object.assign(document.createElement("caption"), { textContent: "Fix the JSON below to use the editor." }));
      form.hidden = true;
      return;
    }
    const properties = Object.keys(model.prop_stats).filter((p) => p !== "n_syn_per_conn");
    const previous = $("editor-property").value;
    $("editor-property").replaceChildren(...properties.map((p) => new Option(p, p, false, p === previous)));
    const property = $("editor-property").value;
    const cell = (tag, content) => { const el = document.createElement(tag); el.append(content); return el; };
    const head = document.createElement("tr");
    head.append(cell("th", "source \\ target"), ...model.tgt_types.map((t) => cell("th", t)));
    const rows = model.src_types.map((s) => {
      const row = document.createElement("tr");
      row.append(cell("th", s), ...model.tgt_types.map((t) => {
        const button = Object.assign(document.createElement("button"), { type: "button", textContent: specLabel(model.prop_stats[property]?.[s]?.[t], fields) });
        button.dataset.source = s;
        button.dataset.target = t;
        button.setAttribute("aria-pressed", String(selected?.source === s && selected?.target === t));
        button.addEventListener("click", () => selectCell(s, t));
        return cell("td", button);
      }));
      return row;
    });
    $("editor-matrix").replaceChildren(head, ...rows);
  }

  function renderFields(spec) {
    $("cell-fields").replaceChildren(...(fields[form.type.value] ?? []).map((field) => {
      const label = document.createElement("label");
      const value = spec?.[field];
      label.append(`${field} `, Object.assign(document.createElement("input"), { name: `field-${field}`, size: field === "val" || field === "p" ? 16 : 6,
        value: value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value) }));
      return label;
    }));
  }

  function selectCell(source, target) {
    selected = { source, target };
    const spec = modelOf(currentConfig()).prop_stats[$("editor-property").value]?.[source]?.[target] ?? { type: "constant", mean: 0 };
    form.hidden = false;
    $("cell-title").textContent = `${$("editor-property").value}: ${source} → ${target}`;
    form.type.value = spec.type in fields ? spec.type : "constant";
    renderFields(spec);
    form.shared_within.checked = spec.shared_within !== false && spec.shared_within !== 0;
    form.lower_bound.value = spec.lower_bound ?? "";
    form.upper_bound.value = spec.upper_bound ?? "";
    form.dtype.value = spec.dtype ?? "";
    render();
    requestPreview();
  }

  let previewTicket = 0;
  function requestPreview() {
    const ticket = ++previewTicket;
    call("preview", { spec: JSON.stringify(specFromForm(form, fields)) }).then(
      (points) => ticket === previewTicket && showPreview({ points }),
      (error) => ticket === previewTicket && error.name !== "AbortError" && showPreview({ error: errorData(error) }));
  }

  function showPreview({ points, error }) {
    $("cell-error").textContent = error ? `${error.name}: ${error.message}` : "";
    // A spec the core refuses cannot be applied.
    for (const button of form.querySelectorAll("button[data-scope]")) button.disabled = Boolean(error);
    if (error) {
      $("cell-preview").replaceChildren();
      return;
    }
    const discrete = points.length < 130;
    $("cell-preview").replaceChildren(plot({
      width: 300, height: 120, marginLeft: 40, x: { label: axisLabel($("editor-property").value) },
      y: { label: discrete ? "probability" : "density", grid: true },
      marks: [discrete ? Plot.ruleX(points, { x: "0", y: "1", stroke: "#3b6fb6", strokeWidth: 3 }) : Plot.areaY(points, { x: "0", y: "1", fill: "#3b6fb6", fillOpacity: 0.3 }),
        discrete ? Plot.dot(points, { x: "0", y: "1", fill: "#3b6fb6" }) : Plot.line(points, { x: "0", y: "1", stroke: "#3b6fb6" }), Plot.ruleY([0])],
    }));
  }

  form.type.addEventListener("change", () => { renderFields(null); requestPreview(); });
  form.addEventListener("input", requestPreview);
  form.addEventListener("click", (event) => {
    const scope = event.target.dataset?.scope;
    if (!scope || !selected) return;
    write(applySpec(currentConfig(), $("editor-property").value, selected.source, selected.target, specFromForm(form, fields), scope));
    render();
  });
  $("editor-property").addEventListener("change", () => { selected = null; form.hidden = true; render(); });
  $("add-property").addEventListener("click", () => {
    const name = $("new-property").value.trim();
    const parsed = currentConfig();
    if (!name || !parsed) return;
    write(addProperty(parsed, name, form.hidden ? { type: "constant", mean: 0 } : specFromForm(form, fields)));
    $("new-property").value = "";
    render();
    $("editor-property").value = name;
    if (selected) selectCell(selected.source, selected.target);
    else render();
  });
  $("remove-property").addEventListener("click", () => {
    const parsed = currentConfig();
    if (!parsed) return;
    write(removeProperty(parsed, $("editor-property").value));
    selected = null;
    form.hidden = true;
    render();
  });
  $("download-config").addEventListener("click", () => {
    const link = download("config.json", new Blob([config.get()], { type: "application/json" }));
    link.click();
    URL.revokeObjectURL(link.href);
  });

  return {
    render,
    /** The core's spec schema: fills the type and dtype menus. */
    setSchema(schema) {
      fields = distributionFields(schema);
      const type = form.type.value;
      form.type.replaceChildren(...Object.keys(fields).map((t) => new Option(t, t, false, t === type)));
      form.dtype.replaceChildren(new Option("(default)", ""), ...schema.dtypes.map((d) => new Option(d, d)));
      render();
      if (selected) selectCell(selected.source, selected.target);
    },
  };
}
