// The coverage view of rules (a BBP recipe, synparam rules), beside the matrix editor: which rule
// sets each property of each pathway with its synapses and connections, rules shadowed by later
// ones or matching nothing, properties left unset, and the notes on differences from the input's
// own tool. Everything shown is the core's (`validate` → `rules.explain`); the DOM is built from
// text nodes only (no markup from data).

/** A table row of cells (`th` for the first when `header`), each given as text. */
function row(cells, { header = false, scope = null } = {}) {
  const tr = document.createElement("tr");
  cells.forEach((text, i) => {
    const cell = document.createElement(header || (scope && i === 0) ? "th" : "td");
    if (scope && i === 0) cell.scope = scope;
    if (header) cell.scope = "col";
    cell.textContent = text;
    tr.append(cell);
  });
  return tr;
}

/** "rules[0]: every property", or "rules[3]: conductance, u_syn; rules[0]: the 8 others". */
function setBy(winners) {
  const byRule = new Map();
  for (const [property, rule] of winners) {
    const key = rule ?? "no rule";
    if (!byRule.has(key)) byRule.set(key, []);
    byRule.get(key).push(property);
  }
  if (byRule.size === 1) return `${[...byRule.keys()][0]}: every property`;
  // The rule setting most properties last, as "the others".
  const ordered = [...byRule].sort((a, b) => a[1].length - b[1].length);
  return ordered.map(([rule, properties], i) => (i === ordered.length - 1 && properties.length > 3
    ? `${rule}: the ${properties.length} others` : `${rule}: ${properties.join(", ")}`)).join("; ");
}

/** A rule's state in the coverage table: matches no node, no pathway with synapses, shadowed. */
function ruleState(rule) {
  if (rule.matches_no_node) {
    const absent = rule.absent_values ?? [];
    return `matches no node of this circuit${absent.length ? ` (${absent.slice(0, 3).join(", ")}${absent.length > 3 ? ", …" : ""})` : ""}`;
  }
  if (rule.matches_nothing) return "matches no pathway with synapses";
  if (rule.shadowed) return "shadowed: later rules win everywhere it matches";
  // A rule with a synapse condition wins only some synapses of the pathways counted.
  return rule.condition ? `applies where ${rule.condition} (the counts are its pathways' whole)` : "applies";
}

const counted = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));

/** The names section: per node property the rules select on, each value they name that the
 * circuit lacks (or that the alias table already maps) with an input for the circuit values it
 * stands for, and the circuit's values no rule names. Returns the rows' inputs. */
function showNames($, names, aliases) {
  const table = $("names-table");
  table.replaceChildren();
  const head = document.createElement("thead");
  head.append(row(["property", "the rules' value", "stands for (this circuit's values, comma-separated; globs allowed)"], { header: true }));
  const body = document.createElement("tbody");
  const inputs = [];
  const unnamed = [];
  names.forEach((report, index) => {
    const mapped = Object.entries(aliases[report.property] ?? {});
    const values = [...report.absent.map((value) => [value, []]), ...mapped.filter(([value]) => !report.absent.includes(value))];
    const list = document.createElement("datalist");
    list.id = `names-values-${index}`;
    list.append(...report.circuit_values.map((value) => new Option(value)));
    table.append(list);
    for (const [value, standsFor] of values) {
      const input = document.createElement("input");
      input.size = 40;
      input.setAttribute("list", list.id);
      input.setAttribute("aria-label", `${report.property} '${value}' stands for`);
      input.value = standsFor.join(", ");
      Object.assign(input.dataset, { property: report.property, name: value });
      const tr = row([report.property, value, ""], { scope: "row" });
      tr.cells[2].append(input);
      body.append(tr);
      inputs.push(input);
    }
    if (report.unnamed.length) unnamed.push(`${report.property}: ${report.unnamed.join(", ")}`);
  });
  table.append(head, body);
  $("names-unnamed").textContent = unnamed.length ? `This circuit's values no rule names (set only by rules that do not select on the property, if any): ${unnamed.join("; ")}.` : "";
  $("rules-names").hidden = inputs.length === 0 && unnamed.length === 0;
  return inputs;
}

/** Mount the view on `$` (the UI's element lookup): `show(rules)` with validate's `rules`
 * (`{summary, explain, compiled}`), `hide()` when the model is a matrix again. `onAliases(table)`:
 * the user mapped the rules' names to the circuit's (`{property: {name: [values]}}`, the whole
 * table); `onRule(rule)`: the user changed one pathway, a rules JSON rule to add last. Both resolve
 * with a note, or reject with the core's error. */
export function mountRulesView({ $, download, onAliases, onRule }) {
  const root = $("rules-coverage");
  let shown = null;
  let nameInputs = [];
  // A later rule for one pathway: its selectors, its current specs (the compiled model's).
  const laterRule = $("later-rule");
  let editing = null;
  const currentSpec = (property) => {
    const model = JSON.parse(shown?.model ?? "null")?.pathway_param_dict;
    return model?.prop_stats?.[property]?.[editing.source]?.[editing.target] ?? null;
  };
  const editPathway = (pathway) => {
    editing = pathway;
    laterRule.hidden = false;
    $("later-rule-title").textContent = `A later rule for ${pathway.source} → ${pathway.target}: added last, it wins on this pathway only; every other pathway keeps its rules.`;
    laterRule.property.replaceChildren(...pathway.winners.map(([property]) => new Option(property)));
    laterRule.property.dispatchEvent(new Event("change"));
    $("later-rule-hint").textContent = "";
    laterRule.spec.focus();
  };
  laterRule.property.addEventListener("change", () => {
    const spec = currentSpec(laterRule.property.value);
    laterRule.spec.value = spec ? JSON.stringify(spec) : "";
  });
  $("later-rule-cancel").addEventListener("click", () => { laterRule.hidden = true; editing = null; });
  $("later-rule-add").addEventListener("click", async () => {
    const hint = $("later-rule-hint");
    let spec;
    try {
      spec = JSON.parse(laterRule.spec.value);
    } catch (error) {
      hint.textContent = `the spec is not JSON: ${error.message}`;
      hint.className = "error";
      return;
    }
    const property = laterRule.property.value;
    const rule = { name: `${editing.source} → ${editing.target}: ${property}, changed here`, source: editing.source_selector, target: editing.target_selector, assign: { [property]: spec } };
    try {
      $("later-rule-note").textContent = await onRule(rule);
      laterRule.hidden = true;
      editing = null;
    } catch (error) {
      hint.textContent = `${error.name}: ${error.message}`;
      hint.className = "error";
    }
  });
  $("apply-aliases").addEventListener("click", async () => {
    const table = {};
    for (const input of nameInputs) {
      const values = input.value.split(",").map((v) => v.trim()).filter(Boolean);
      if (values.length) (table[input.dataset.property] ??= {})[input.dataset.name] = values;
    }
    try {
      $("aliases-note").textContent = await onAliases(table);
      $("aliases-note").className = "note";
    } catch (error) {
      $("aliases-note").textContent = `${error.name}: ${error.message}`;
      $("aliases-note").className = "error";
    }
  });
  const save = (name, text) => {
    const link = download(name, new Blob([text], { type: "application/json" }));
    link.click();
    URL.revokeObjectURL(link.href);
  };
  $("download-rules").addEventListener("click", () => { if (shown?.exported) save("rules.json", `${shown.exported}\n`); });
  $("download-compiled").addEventListener("click", () => {
    if (shown?.model) save("compiled_model.json", `${JSON.stringify(JSON.parse(shown.model), null, 2)}\n`);
  });
  return {
    hide() {
      root.hidden = true;
      laterRule.hidden = true;
    },
    /** Rules refused for this circuit (no rule covers some edges): only the names to map. */
    showRefused({ names, aliases }) {
      shown = null;
      root.hidden = false;
      $("download-compiled").disabled = true;
      $("rules-summary").textContent = "These rules do not cover this circuit (see the error under the model): if they come from another circuit, map their names to this one's below.";
      for (const id of ["rules-table", "coverage-table", "rules-notes"]) $(id).replaceChildren();
      $("rules-unmatched").hidden = true;
      nameInputs = showNames($, names, aliases);
    },
    show(rules) {
      const { summary, explain, compiled } = rules;
      shown = rules;
      root.hidden = false;
      $("download-compiled").disabled = !rules.model;
      const read = [...new Set([...summary.properties.source.map((p) => `source ${p}`), ...summary.properties.target.map((p) => `target ${p}`)])];
      $("rules-summary").textContent = `${summary.format}: ${summary.rules} rules, ${summary.classes.length} classes (later rules win); nodes classed by ${read.join(", ") || "nothing (every rule selects all nodes)"}` +
        (compiled ? "" : ". Load a circuit to see which rule applies where.");
      const ruleTable = $("rules-table");
      const pathways = $("coverage-table");
      ruleTable.replaceChildren();
      pathways.replaceChildren();
      const notes = $("rules-notes");
      notes.replaceChildren();
      nameInputs = showNames($, explain?.names ?? [], summary.aliases ?? {});
      if (!explain) return;
      const head = document.createElement("thead");
      head.append(row(["rule", "class", "pathways won", "synapses", "connections", "state"], { header: true }));
      const body = document.createElement("tbody");
      for (const rule of explain.rules) {
        const tr = row([rule.rule, rule.class ?? "", String(rule.pathways), counted(rule.synapses), counted(rule.connections), ruleState(rule)], { scope: "row" });
        if (rule.shadowed || rule.matches_nothing) tr.dataset.state = "unused";
        body.append(tr);
      }
      const unmatched = $("rules-unmatched");
      unmatched.hidden = !explain.warnings?.length;
      unmatched.textContent = (explain.warnings ?? []).join(" ");
      ruleTable.append(head, body);
      const coverageHead = document.createElement("thead");
      coverageHead.append(row(["source → target", "synapses", "connections", "set by (later rules win)", "change"], { header: true }));
      const coverageBody = document.createElement("tbody");
      for (const pathway of explain.pathways) {
        const tr = row([`${pathway.source} → ${pathway.target}`, counted(pathway.synapses), counted(pathway.connections), setBy(pathway.winners), ""], { scope: "row" });
        const change = document.createElement("button");
        change.type = "button";
        change.textContent = "Change…";
        change.setAttribute("aria-label", `change ${pathway.source} → ${pathway.target} with a later rule`);
        const selectable = Boolean(pathway.source_selector && pathway.target_selector && rules.model);
        change.disabled = !selectable;
        if (!selectable) change.title = "its nodes cannot be selected by their values alone (some lack a property the rules read): write the rule in the JSON box";
        change.addEventListener("click", () => editPathway(pathway));
        tr.cells[4].append(change);
        if (pathway.winners.some(([, rule]) => !rule)) tr.dataset.state = "uncovered";
        coverageBody.append(tr);
      }
      pathways.append(coverageHead, coverageBody);
      for (const unset of explain.unset) {
        const item = document.createElement("li");
        item.textContent = `left unset: ${unset.property} — ${unset.reason}`;
        notes.append(item);
      }
      for (const note of explain.notes) {
        const item = document.createElement("li");
        item.textContent = note;
        notes.append(item);
      }
    },
  };
}
