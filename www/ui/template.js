// The UI's markup and styles, shared by the page (light DOM) and <synparam-panel> (shadow DOM).
// Themeable through CSS custom properties (documented in the README): --synparam-font,
// --synparam-color, --synparam-background, --synparam-accent, --synparam-accent-background,
// --synparam-error, --synparam-border, --synparam-highlight, --synparam-spacing.

/** Styles of the UI, scoped to its `.synparam` container. */
export const STYLES = `
.synparam { container: synparam / inline-size; font-family: var(--synparam-font, system-ui, sans-serif); color: var(--synparam-color, #1d2433);
  background: var(--synparam-background, transparent); line-height: 1.4; }
.synparam section, .synparam > p, .synparam > label, .synparam > button { margin-block: var(--synparam-spacing, .75rem); }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { border-bottom: 1px solid var(--synparam-border, #d5d9e0); padding: .3rem .5rem; text-align: right; }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    .error { color: var(--synparam-error, #a4161a); white-space: pre-wrap; }
    progress { width: 100%; }
    .downloads { display: flex; flex-wrap: wrap; gap: .5rem 1rem; }
    textarea { width: 100%; font-family: ui-monospace, monospace; font-size: .8rem; box-sizing: border-box; }
    #config-status.error { color: var(--synparam-error, #a4161a); }
    label { margin-right: .75rem; }
    .table-scroll { overflow-x: auto; }
    #editor-matrix button { font: inherit; font-size: .8rem; text-align: left; width: 100%; }
    #editor-matrix button[aria-pressed="true"] { outline: 2px solid var(--synparam-accent, #3b6fb6); }
    #cell-form { border: 1px solid var(--synparam-border, #d5d9e0); border-radius: 6px; padding: .5rem; margin: .5rem 0; }
    .error { color: var(--synparam-error, #a4161a); }
    #drop-zone { border: 2px dashed transparent; border-radius: 6px; padding: 0 .5rem; }
    #drop-zone.dragging { border-color: var(--synparam-accent, #3b6fb6); background: var(--synparam-accent-background, #eef4fb); }
    #pathway-matrix { width: auto; font-size: .85rem; margin-bottom: 1rem; }
    #pathway-matrix caption { text-align: left; font-weight: 600; }
    tr.changed td, .property-figure.changed > figcaption { background: var(--synparam-highlight, #fff3bf); }
    .property-figure.changed > figcaption::after { content: " — changed since the last run"; font-weight: 400; }
    input, select, svg { max-width: 100%; }
    /* Observable Plot's own rules (it would inline them; the CSP forbids inline styles). */
    svg[class^="plot-"] { --plot-background: white; display: block; height: auto; height: intrinsic; max-width: 100%; }
    svg[class^="plot-"] text, svg[class^="plot-"] tspan { white-space: pre; }
    @container synparam (max-width: 600px) { th, td { padding: .2rem .3rem; font-size: .85rem; } }
    .property-figure { margin: 1.5rem 0; }
    .property-figure > figcaption { font-weight: 600; margin-bottom: .5rem; }
    .histogram-grid { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; }
    .histogram-grid > figure { margin: 0; }
    .histogram-grid h2 { font-size: .85rem; font-weight: 500; margin: 0 0 .25rem; }
    .setting-source { color: #5c6370; margin-right: .5rem; }
    #circuit[data-state="error"] { color: var(--synparam-error, #a4161a); }
    #results tr.population-row th { text-align: left; padding-top: .75rem; border-bottom: 2px solid var(--synparam-border, #d5d9e0); }
    .setting-source[data-source="override"] { color: inherit; background: var(--synparam-highlight, #fff3bf); padding: 0 .25rem; border-radius: 3px; }
    .setting-reset { font-size: .75rem; margin-right: .75rem; }
    #preset-mapping { border: 1px solid var(--synparam-border, #d5d9e0); border-radius: 6px; padding: .5rem; margin: .5rem 0; }
    #preset-classes { width: auto; }
    #preset-classes tr.guessed td, #preset-classes tr.mixed td { background: var(--synparam-highlight, #fff3bf); }
    .note { color: #5c6370; font-size: .85rem; }
    #fallback.needed { outline: 2px solid var(--synparam-error, #a4161a); }
    #pathway-matrix td.missing, #pathway-matrix th.missing { color: var(--synparam-error, #a4161a); }
`;

/** Markup of the UI: every control has an id, unique within its container. */
export const MARKUP = `
  <section id="drop-zone" aria-label="circuit">
    <p id="circuit">loading the circuit…</p>
    <p id="nodes"></p>
    <p><label>Or drop a circuit folder or files here, or choose them (circuit_config.json and the .h5 files it names):
      <input id="files" type="file" multiple></label>
      <label>or a circuit folder <input id="folder" type="file" webkitdirectory></label></p>
    <p>
      <label>Pathway property <select id="pathway-property"></select></label>
      <label><input id="all-properties" type="checkbox"> list numeric and identifier properties too</label> <small class="setting-source" data-setting="pathwayProperty"></small><button type="button" class="setting-reset" data-setting="pathwayProperty" hidden title="drop this override: use the config's value (or the default)">use config</button>
      <span id="pathway-values"></span>
      <label>Fallback value for nodes without it <input id="fallback" type="text" size="16" placeholder="(none)"></label> <small class="setting-source" data-setting="fallback"></small><button type="button" class="setting-reset" data-setting="fallback" hidden title="drop this override: use the config's value (or the default)">use config</button>
    </p>
    <p id="pathway-lacking" class="error" hidden></p>
    <div class="table-scroll"><table id="pathway-matrix" aria-label="synapses per pathway"></table></div>
  </section>
  <section aria-label="model">
    <p>
      <label>Preset <select id="preset"></select></label>
      <button id="apply-preset" type="button">Use preset…</button>
      <label>Upload a config <input id="config-file" type="file" accept=".json,application/json"></label>
      <button id="download-config" type="button">Download config</button>
      <label>Load from a parameterized circuit <input id="provenance-file" type="file" accept=".json,application/json" title="its parameterization.json: config, seed, pathway property and fallback of that run"></label>
    </p>
    <form id="preset-mapping" hidden aria-labelledby="preset-mapping-title">
      <p id="preset-mapping-title"></p>
      <table id="preset-classes" aria-label="class of each pathway value">
        <thead><tr><th scope="col">value</th><th scope="col">class</th><th scope="col">from</th></tr></thead><tbody></tbody>
      </table>
      <p id="preset-source" class="note"></p>
      <p id="preset-replaces" class="note"></p>
      <button id="preset-confirm" type="button">Apply preset</button>
      <button id="preset-cancel" type="button">Cancel</button>
    </form>
    <details id="editor" open>
      <summary>Matrix editor</summary>
      <p>
        <label>Property <select id="editor-property"></select></label>
        <button id="remove-property" type="button">Remove property</button>
        <label>New property <input id="new-property" size="14"></label>
        <button id="add-property" type="button">Add</button>
      </p>
      <div class="table-scroll"><table id="editor-matrix" aria-label="specs per pathway"></table></div>
      <form id="cell-form" hidden>
        <p id="cell-title"></p>
        <label>Distribution <select name="type"></select></label>
        <span id="cell-fields"></span>
        <label><input type="checkbox" name="shared_within" checked> shared within a connection</label>
        <label>lower bound <input name="lower_bound" size="6"></label>
        <label>upper bound <input name="upper_bound" size="6"></label>
        <label>dtype <select name="dtype"></select></label>
        <div id="cell-preview" aria-label="density preview"></div>
        <p id="cell-error" class="error"></p>
        <button type="button" data-scope="cell">Apply to cell</button>
        <button type="button" data-scope="row">Apply to row</button>
        <button type="button" data-scope="column">Apply to column</button>
        <button type="button" data-scope="all">Apply to all</button>
      </form>
    </details>
    <label for="config">Model (ConnPropsModel dict or task form; paste what you have)</label>
    <textarea id="config" rows="12" spellcheck="false"></textarea>
    <p id="config-status" role="status"></p>
  </section>
  <label><input id="overwrite" type="checkbox"> Overwrite properties that already exist</label> <small class="setting-source" data-setting="overwrite"></small><button type="button" class="setting-reset" data-setting="overwrite" hidden title="drop this override: use the config's value (or the default)">use config</button>
  <label>Seed <input id="seed" type="text" inputmode="numeric" value="1" size="21" spellcheck="false"></label> <small class="setting-source" data-setting="seed"></small><button type="button" class="setting-reset" data-setting="seed" hidden title="drop this override: use the config's value (or the default)">use config</button>
  <button id="run" type="button" disabled>Parameterize</button>
  <button id="cancel" type="button" disabled>Cancel</button>
  <p><progress id="progress" value="0" max="1" aria-label="progress"></progress></p>
  <p id="status" role="status"></p>
  <div class="table-scroll"><table id="results" hidden>
    <thead><tr><th>property</th><th>pathway</th><th>n</th><th>mean</th><th>std</th><th>min</th><th>max</th><th>clipped</th><th>spec mean</th><th>spec std</th></tr></thead>
    <tbody></tbody>
  </table></div>
  <p id="downloads" aria-label="downloads" class="downloads"></p>
  <section id="histograms" aria-label="histograms"></section>
`;
