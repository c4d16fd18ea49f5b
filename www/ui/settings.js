// The run settings the page shows beside the model (seed, pathway property, fallback, overwrite).
// The core resolves them (planRun: an override, else the config's task form, else the default);
// the page only remembers which ones the user (or a sidecar, or the host) set, and says where each
// shown value comes from — so a pasted task config runs in the page as it runs in the command.
// No DOM here: tested in Node.

/** The settings the page has controls for, by the core's names. */
export const PAGE_SETTINGS = ["seed", "pathwayProperty", "fallback", "overwrite"];

/** What a control shows for a value: text for the seed and fallback fields, a per-population
 * fallback as its entries, etc. */
export function shown(value) {
  if (value === null || value === undefined) return "none";
  if (typeof value === "object") return Object.entries(value).map(([key, v]) => `${key}: ${shown(v)}`).join(", ");
  return typeof value === "string" ? `'${value}'` : String(value);
}

/** Whether two setting values are the same (a per-population fallback is an object). */
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The overrides a page run sends: every setting set in the page (`changed`: name → {value, by}),
 * plus the seed field when neither the page nor the config gives a seed (a run needs one, and the
 * field always shows one). `configSeed`: the config's own `random_seed`, null when it has none,
 * undefined when not yet known.
 */
export function pageOverrides(changed, { configSeed, seedField } = {}) {
  const overrides = Object.fromEntries(Object.entries(changed).map(([name, { value }]) => [name, value]));
  if (overrides.seed === undefined && configSeed === null && seedField !== null && seedField !== undefined) overrides.seed = seedField;
  return overrides;
}

/**
 * A note per setting saying where its value comes from, from the core's resolution with the
 * page's overrides (`settings`) and without them (`base`: the config's values and the defaults).
 * `changed` names who set each override ("here", "the sidecar", "the host").
 */
export function settingNotes(settings, base, changed) {
  const notes = {};
  for (const name of PAGE_SETTINGS) {
    const { value, source } = settings[name];
    const underneath = base[name];
    if (source === "override") {
      const by = changed[name]?.by ?? "here";
      const beneath = underneath.source === "config" ? `the config says ${shown(underneath.value)}`
        : name === "seed" && underneath.value === null ? "the config has no random_seed" : `default ${shown(underneath.value)}`;
      notes[name] = { source, text: `set ${by === "here" ? "here" : `by ${by}`}${same(value, underneath.value) ? "" : ` (${beneath})`}` };
    } else {
      notes[name] = { source, text: source === "config" ? "from the config" : "default" };
    }
  }
  return notes;
}
