// The fallback control: the value for every node population (the #fallback field) and a value of
// their own for named node populations (a row each, added by a run plan's remedy), read and
// written in the core's JSON form — a string, or {node population: value} whose "*" entry is every
// other population's (docs/config.md). The core validates it and decides which nodes take it.

const EVERY_OTHER = "*";

/** The rows of node populations with a value of their own. */
const rows = ($) => [...$("fallback-populations").querySelectorAll("input[data-population]")];

/** The control's value: null (none), a string, or {population: value, "*": value}. */
export function readFallback($) {
  const every = $("fallback").value.trim();
  const own = rows($).filter((input) => input.value.trim() !== "");
  if (!own.length) return every || null;
  const value = Object.fromEntries(own.map((input) => [input.dataset.population, input.value.trim()]));
  if (every) value[EVERY_OTHER] = every;
  return value;
}

/** The value shown for the nodes of `population` that lack the pathway property (for notes:
 * the run asks the core). */
export function shownFallbackFor(value, population) {
  if (value === null || value === undefined || typeof value === "string") return value || null;
  return value[population] ?? value[EVERY_OTHER] ?? null;
}

/** Show `value` (the JSON form): the field holds every population's value, a row each population's
 * own. */
export function writeFallback($, value) {
  const own = value && typeof value === "object" ? value : {};
  $("fallback").value = typeof value === "string" ? value : own[EVERY_OTHER] ?? "";
  $("fallback-populations").replaceChildren();
  for (const [population, v] of Object.entries(own)) if (population !== EVERY_OTHER) addRow($, population, v);
}

/** Give node population `population` a row of its own (kept if it has one) and focus it: the
 * remedy for one population's unclassed nodes (thalamic VPM without an mtype), which a value for
 * every population would class along with every other population's. */
export function focusPopulationFallback($, population) {
  const input = rows($).find((i) => i.dataset.population === population) ?? addRow($, population, "");
  input.scrollIntoView({ block: "center" });
  input.focus();
  return input;
}

function addRow($, population, value) {
  const input = Object.assign(document.createElement("input"), { type: "text", size: 12, value, placeholder: "(none)" });
  input.dataset.population = population;
  input.setAttribute("list", "fallback-values");
  input.addEventListener("change", () => changed($));
  const label = Object.assign(document.createElement("label"), { className: "fallback-population" });
  label.append(`${population}'s nodes `, input);
  const drop = Object.assign(document.createElement("button"), { type: "button", textContent: "✕", title: `drop ${population}'s own value (the value for every population applies)` });
  drop.setAttribute("aria-label", `drop ${population}'s own fallback value`);
  drop.addEventListener("click", () => {
    label.remove();
    changed($);
  });
  label.append(drop);
  $("fallback-populations").append(label);
  return input;
}

/** A row changed: the settings panel listens to the field's change. */
function changed($) {
  $("fallback").dispatchEvent(new Event("change"));
}
