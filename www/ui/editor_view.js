// The matrix editor's view: property × source value × target value, one button per pathway (with
// its synapse count), a form for the selected cells with a live density preview and the core's
// formula of the spec. It scales to many values: a filter over row and column names, several
// cells selected at once (Ctrl/⌘-click, Shift-click, a row or column header), arrow keys inside
// the grid (Enter edits, Escape closes the form), and the cell an error names marked. It reads and
// writes the config text (the one source of truth) through `config`; the distribution types and
// their parameters come from the core's spec schema (`setSchema`), never from a copy here.
import * as Plot from "@observablehq/plot";
import { axisLabel, plot } from "./plots.js";
import { distributionFields, modelOf, specLabel, specFromForm, applySpec, addProperty, removeProperty, perSynapseByDefault, scaleFields } from "./editor.js";
import { errorData } from "../run/protocol.js";

// Long by design: the panel's closure holds its state, shared by the short functions inside it
// (each one a unit to read); splitting it would pass that state around instead.
/**
 * Mount the editor on the UI's controls. `$`: element by id; `call`: the worker protocol's call;
 * `config`: `{get(): text, set(text)}`; `onEdited()`: after the editor changed the config.
 * Returns `{render, setSchema, download}`.
 */
export function mountEditor({ $, call, config, onEdited, download }) {
  let fields = {}; // distribution type → parameters, from the core
  let schema = null; // the core's spec schema (per-synapse types, derived attributes)
  let selected = null; // {source, target}: the cell the form shows
  let chosen = new Set(); // "source\u0000target" of every selected cell (the form applies to them)
  let anchor = null; // {source, target} where a Shift-click range starts
  let counts = new Map(); // "source\u0000target" → synapses, from the core's pathway counts
  let invalid = null; // {property, source, target} the config's error names
  const form = $("cell-form");
  const key = (source, target) => `${source}\u0000${target}`;

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
    $("editor-property").replaceChildren(...properties.map((p) => new Option(invalid?.property === p ? `${p} (error)` : p, p, false, p === previous)));
    const property = $("editor-property").value;
    // Focus stays where it was: a re-render never drops it to <body>.
    const active = $("editor-matrix").getRootNode().activeElement;
    const focused = active && $("editor-matrix").contains(active) && active.classList.contains("cell") ? { ...active.dataset } : null;
    const filter = $("editor-filter").value.trim().toLowerCase();
    // The filter keeps the sources and the targets whose names contain it; an axis where no name
    // matches stays whole (filter "L5_" on rows and columns, "inh" on the sources only).
    const matching = (names) => {
      const kept = names.filter((name) => name.toLowerCase().includes(filter));
      return filter && kept.length ? kept : names;
    };
    const sources = matching(model.src_types);
    const targets = matching(model.tgt_types);
    const header = (text, select, label) => {
      const th = document.createElement("th");
      th.scope = select.scope;
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: text, className: "header-select" });
      button.setAttribute("aria-label", label);
      button.addEventListener("click", (event) => selectMany(select.cells(), event));
      th.append(button);
      return th;
    };
    const head = document.createElement("tr");
    head.append(Object.assign(document.createElement("th"), { textContent: "source \\ target" }),
      ...targets.map((t) => header(t, { scope: "col", cells: () => sources.map((s) => [s, t]) }, `select the column of target ${t}`)));
    const rows = sources.map((s) => {
      const row = document.createElement("tr");
      row.append(header(s, { scope: "row", cells: () => targets.map((t) => [s, t]) }, `select the row of source ${s}`), ...targets.map((t) => {
        const spec = model.prop_stats[property]?.[s]?.[t];
        const synapses = counts.get(key(s, t));
        const button = Object.assign(document.createElement("button"), { type: "button", className: "cell" });
        button.append(Object.assign(document.createElement("span"), { textContent: specLabel(spec, fields), className: "cell-label" }));
        if (synapses !== undefined) button.append(Object.assign(document.createElement("small"), { textContent: `${synapses} synapses`, className: "cell-count" }));
        button.dataset.source = s;
        button.dataset.target = t;
        button.tabIndex = -1;
        button.setAttribute("aria-pressed", String(chosen.has(key(s, t))));
        const bad = invalid && invalid.property === property && invalid.source === s && invalid.target === t;
        button.classList.toggle("invalid", Boolean(bad));
        if (bad) button.setAttribute("aria-invalid", "true");
        // The accessible name is the visible text; the table's headers give source and target.
        button.title = `${property}, ${s} → ${t}${bad ? " — the config's error is here" : ""}`;
        button.addEventListener("click", (event) => {
          selectCell(s, t, event);
          // Enter or Space (a click without a pointer): the focus goes into the form, in view;
          // Escape brings it back. A pointer click keeps it on the cell, the form brought in view.
          if (event.detail === 0) form.type.focus();
          else form.scrollIntoView({ block: "nearest" });
        });
        const td = document.createElement("td");
        td.append(button);
        return td;
      }));
      return row;
    });
    const hidden = model.src_types.length - sources.length + model.tgt_types.length - targets.length;
    $("editor-filter-note").textContent = filter ? `${sources.length} of ${model.src_types.length} sources, ${targets.length} of ${model.tgt_types.length} targets shown` : "";
    $("editor-matrix").replaceChildren(head, ...rows);
    $("editor-matrix").dataset.hidden = String(hidden);
    // One tab stop in the grid (roving tabindex): the selected cell, else the first.
    const cells = [...$("editor-matrix").querySelectorAll("button.cell")];
    const home = cells.find((b) => b.dataset.source === (focused?.source ?? selected?.source) && b.dataset.target === (focused?.target ?? selected?.target)) ?? cells[0];
    if (home) home.tabIndex = 0;
    if (focused && home) home.focus();
    $("apply-selected").textContent = `Apply to the ${chosen.size} selected cell${chosen.size === 1 ? "" : "s"}`;
    $("apply-selected").hidden = chosen.size < 2;
  }

  /** Select the cells `pairs` ([[source, target]]): added to the selection with Ctrl/⌘, else
   * replacing it; the form shows the first. */
  function selectMany(pairs, event = {}) {
    if (!pairs.length) return;
    if (!(event.ctrlKey || event.metaKey)) chosen = new Set();
    for (const [s, t] of pairs) chosen.add(key(s, t));
    anchor = { source: pairs[0][0], target: pairs[0][1] };
    showCell(pairs[0][0], pairs[0][1]);
  }

  function renderFields(spec) {
    $("cell-fields").replaceChildren(...(fields[form.type.value] ?? []).map((field) => {
      const label = document.createElement("label");
      const value = spec?.[field];
      label.append(`${field} `, Object.assign(document.createElement("input"), { name: `field-${field}`, size: field === "val" || field === "p" || field === "values" ? 16 : 6,
        value: value === undefined ? "" : Array.isArray(value) ? value.join(" ") : String(value) }));
      return label;
    }));
  }

  /** Click on a cell: select it (Ctrl/⌘ adds or removes it, Shift selects the rectangle from the
   * last clicked cell). */
  function selectCell(source, target, event = {}) {
    const model = modelOf(currentConfig());
    if (event.shiftKey && anchor) {
      const rows = [model.src_types.indexOf(anchor.source), model.src_types.indexOf(source)].sort((a, b) => a - b);
      const columns = [model.tgt_types.indexOf(anchor.target), model.tgt_types.indexOf(target)].sort((a, b) => a - b);
      if (!(event.ctrlKey || event.metaKey)) chosen = new Set();
      for (let i = rows[0]; i <= rows[1]; i++) for (let j = columns[0]; j <= columns[1]; j++) chosen.add(key(model.src_types[i], model.tgt_types[j]));
    } else if (event.ctrlKey || event.metaKey) {
      if (chosen.has(key(source, target)) && chosen.size > 1) chosen.delete(key(source, target));
      else chosen.add(key(source, target));
      anchor = { source, target };
    } else {
      chosen = new Set([key(source, target)]);
      anchor = { source, target };
    }
    showCell(source, target);
  }

  /** Show one cell's spec in the form. */
  function showCell(source, target) {
    selected = { source, target };
    const spec = modelOf(currentConfig()).prop_stats[$("editor-property").value]?.[source]?.[target] ?? { type: "constant", mean: 0 };
    form.hidden = false;
    $("cell-title").textContent = `${$("editor-property").value}: ${source} → ${target}${chosen.size > 1 ? ` (and ${chosen.size - 1} more selected)` : ""}`;
    form.type.value = spec.type in fields ? spec.type : "constant";
    // A spec the form cannot show (by_synapse's cases) is edited in the JSON box, never replaced
    // by the form's default unseen.
    const formless = !(spec.type in fields);
    $("cell-formless").hidden = !formless;
    $("cell-formless").textContent = formless ? `This cell's spec is ${spec.type}: edit it in the JSON box (the form would replace it).` : "";
    renderFields(spec);
    // Unset: one draw per connection, except for what the core draws per synapse.
    form.shared_within.checked = spec.shared_within === undefined ? !perSynapseByDefault(spec, schema) : spec.shared_within !== false && spec.shared_within !== 0;
    const scale = scaleFields(spec.scale_by);
    form.scale_attribute.value = scale.attribute;
    form.scale_kind.value = scale.kind;
    form.scale_values.value = scale.values;
    form.lower_bound.value = spec.lower_bound ?? "";
    form.upper_bound.value = spec.upper_bound ?? "";
    form.shift.value = spec.shift ?? "";
    form.truncate_min.value = spec.truncate?.min ?? "";
    form.truncate_max.value = spec.truncate?.max ?? "";
    form.dtype.value = spec.dtype ?? "";
    render();
    requestPreview();
  }

  let previewTicket = 0;
  function requestPreview() {
    const ticket = ++previewTicket;
    call("preview", { spec: JSON.stringify(specFromForm(form, fields)) }).then(
      (preview) => ticket === previewTicket && showPreview(Array.isArray(preview) ? { points: preview } : preview),
      (error) => ticket === previewTicket && error.name !== "AbortError" && showPreview({ error: errorData(error) }));
  }

  function showPreview({ points, formula, error }) {
    $("cell-error").textContent = error ? `${error.name}: ${error.message}` : "";
    // The core's words for the law and its parameterization (lognormal: μ and σ of the log, and
    // the mean they give).
    $("cell-hint").textContent = formula ?? "";
    for (const input of form.querySelectorAll("#cell-fields input")) {
      const named = error && new RegExp(`\\.${input.name.slice("field-".length)}(\\b|$)`).test(error.path ?? "");
      input.setAttribute("aria-invalid", String(Boolean(named)));
    }
    // A spec the core refuses cannot be applied, nor one the form cannot show.
    for (const button of form.querySelectorAll("button[data-scope]")) button.disabled = Boolean(error) || !$("cell-formless").hidden;
    if (error) {
      $("cell-preview").replaceChildren();
      return;
    }
    const discrete = points.length < 130;
    $("cell-preview").replaceChildren(plot({
      description: `${discrete ? "probability mass" : "density"} of ${formula ?? "the spec"}`,
      width: 300, height: 120, marginLeft: 40, x: { label: axisLabel($("editor-property").value) },
      y: { label: discrete ? "probability" : "density", grid: true },
      marks: [discrete ? Plot.ruleX(points, { x: "0", y: "1", stroke: "#3b6fb6", strokeWidth: 3 }) : Plot.areaY(points, { x: "0", y: "1", fill: "#3b6fb6", fillOpacity: 0.3 }),
        discrete ? Plot.dot(points, { x: "0", y: "1", fill: "#3b6fb6" }) : Plot.line(points, { x: "0", y: "1", stroke: "#3b6fb6" }), Plot.ruleY([0])],
    }));
  }

  // Choosing a law for a formless cell means replacing its spec: the form then applies.
  form.type.addEventListener("change", () => {
    $("cell-formless").hidden = true;
    renderFields(null);
    // A law of each synapse's distance cannot be shared within a connection (the core refuses it).
    if (perSynapseByDefault({ type: form.type.value }, schema)) form.shared_within.checked = false;
    requestPreview();
  });
  form.scale_attribute.addEventListener("change", () => {
    if (form.scale_attribute.value.trim()) form.shared_within.checked = false;
  });
  form.addEventListener("input", requestPreview);
  form.addEventListener("click", (event) => {
    const scope = event.target.dataset?.scope;
    if (!scope || !selected) return;
    const spec = specFromForm(form, fields);
    let next = currentConfig();
    if (scope === "selected") {
      for (const pair of chosen) {
        const [s, t] = pair.split("\u0000");
        next = applySpec(next, $("editor-property").value, s, t, spec, "cell");
      }
    } else {
      next = applySpec(next, $("editor-property").value, selected.source, selected.target, spec, scope);
    }
    write(next);
    render();
  });
  /** Close the form and give the focus back to its cell. */
  function closeForm() {
    form.hidden = true;
    const cell = [...$("editor-matrix").querySelectorAll("button.cell")].find((b) => b.dataset.source === selected?.source && b.dataset.target === selected?.target);
    cell?.focus();
  }
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeForm();
    }
  });
  // Arrow keys move between cells (Home/End to a row's ends); Enter and Space edit (a button's own).
  $("editor-matrix").addEventListener("keydown", (event) => {
    const cell = event.target.closest?.("button.cell");
    if (!cell) return;
    const grid = [...$("editor-matrix").querySelectorAll("tr")].map((tr) => [...tr.querySelectorAll("button.cell")]).filter((r) => r.length);
    const row = grid.findIndex((r) => r.includes(cell));
    const column = grid[row].indexOf(cell);
    const moves = { ArrowUp: [row - 1, column], ArrowDown: [row + 1, column], ArrowLeft: [row, column - 1], ArrowRight: [row, column + 1], Home: [row, 0], End: [row, grid[row].length - 1] };
    if (event.key === "Escape") {
      form.hidden = true;
      return;
    }
    if (!(event.key in moves)) return;
    event.preventDefault();
    const [r, c] = moves[event.key];
    const next = grid[Math.max(0, Math.min(grid.length - 1, r))]?.[Math.max(0, Math.min(grid[0].length - 1, c))];
    if (!next) return;
    cell.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  $("editor-filter").addEventListener("input", () => render());
  // A pattern selection: every cell the filter shows.
  $("select-shown").addEventListener("click", () => {
    selectMany([...$("editor-matrix").querySelectorAll("button.cell")].map((b) => [b.dataset.source, b.dataset.target]));
  });
  $("editor-property").addEventListener("change", () => { selected = null; chosen = new Set(); form.hidden = true; render(); });
  $("add-property").addEventListener("click", () => {
    const name = $("new-property").value.trim();
    const parsed = currentConfig();
    if (!name || !parsed) return;
    write(addProperty(parsed, name, form.hidden ? { type: "constant", mean: 0 } : specFromForm(form, fields)));
    $("new-property").value = "";
    render();
    $("editor-property").value = name;
    if (selected) showCell(selected.source, selected.target);
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
    /** Synapses per pathway of the loaded circuit (the core's counts), shown in the cells. */
    setCounts(list) {
      counts = new Map(list.filter((c) => c.source !== null && c.target !== null).map((c) => [key(c.source, c.target), c.synapses]));
      render();
    },
    /** Mark the cell a config error's JSON `path` names (null: none). */
    markInvalid(path) {
      invalid = null;
      const parsed = currentConfig();
      const model = parsed && modelOf(parsed);
      const prefix = `${parsed?.pathway_param_dict ? "pathway_param_dict." : ""}prop_stats.`;
      if (path?.startsWith(prefix) && model?.prop_stats && Array.isArray(model.src_types) && Array.isArray(model.tgt_types)) {
        const rest = path.slice(prefix.length);
        for (const property of Object.keys(model.prop_stats)) {
          for (const s of model.src_types) {
            for (const t of model.tgt_types) {
              const cell = `${property}.${s}.${t}`;
              if (rest === cell || rest.startsWith(`${cell}.`) || rest.startsWith(`${cell}[`)) invalid = { property, source: s, target: t };
            }
          }
        }
      }
      render();
    },
    /** The core's spec schema: fills the type and dtype menus. */
    setSchema(given) {
      schema = given;
      fields = distributionFields(schema);
      // Offered for scale_by: the attributes the core derives (any edge dataset may be typed).
      $("scale-attributes").replaceChildren(...(schema.derived_attributes ?? []).map((a) => new Option(a, a)));
      const type = form.type.value;
      form.type.replaceChildren(...Object.keys(fields).map((t) => new Option(t, t, false, t === type)));
      form.dtype.replaceChildren(new Option("(default)", ""), ...schema.dtypes.map((d) => new Option(d, d)));
      render();
      if (selected) showCell(selected.source, selected.target);
    },
  };
}
