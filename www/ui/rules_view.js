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

/** Mount the view on `$` (the UI's element lookup): `show(rules)` with validate's `rules`
 * (`{summary, explain, compiled}`), `hide()` when the model is a matrix again. */
export function mountRulesView({ $, download }) {
  const root = $("rules-coverage");
  let shown = null;
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
      coverageHead.append(row(["source → target", "synapses", "connections", "set by (later rules win)"], { header: true }));
      const coverageBody = document.createElement("tbody");
      for (const pathway of explain.pathways) {
        const tr = row([`${pathway.source} → ${pathway.target}`, counted(pathway.synapses), counted(pathway.connections), setBy(pathway.winners)], { scope: "row" });
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
