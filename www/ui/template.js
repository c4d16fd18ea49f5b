// The UI's markup and styles, shared by the page (light DOM) and <synparam-panel> (shadow DOM).
// Themeable through CSS custom properties (documented in the README): --synparam-font,
// --synparam-color, --synparam-background, --synparam-accent, --synparam-accent-background,
// --synparam-error, --synparam-border, --synparam-highlight, --synparam-spacing.

/** Styles of the UI, scoped to its `.synparam` container: controls on one side, results on the
 * other (stacked below 900 px of the container), the run bar always in view, light and dark. */
export const STYLES = `
.synparam {
  container: synparam / inline-size;
  --_fg: var(--synparam-color, #1d2433); --_bg: var(--synparam-background, #ffffff); --_muted: #5c6370;
  --_accent: var(--synparam-accent, #2f5fa7); --_accent-bg: var(--synparam-accent-background, #eef4fb);
  --_error: var(--synparam-error, #a4161a); --_border: var(--synparam-border, #d5d9e0); --_highlight: var(--synparam-highlight, #fff3bf);
  --_panel: #f7f8fa; --_space: var(--synparam-spacing, .75rem);
  /* The accent as text and as a filled button, darkened so that any host accent keeps 4.5:1 contrast. */
  --_accent-strong: color-mix(in srgb, var(--_accent) 78%, black);
  font-family: var(--synparam-font, system-ui, -apple-system, "Segoe UI", sans-serif); font-size: 14px; color: var(--_fg);
  background: var(--_bg); line-height: 1.45; color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  .synparam { --_fg: var(--synparam-color, #e6e9ef); --_bg: var(--synparam-background, #14171c); --_muted: #a4acb9;
    --_accent: var(--synparam-accent, #7aa7e8); --_accent-bg: var(--synparam-accent-background, #1d2a3d); --_error: var(--synparam-error, #ff8a80);
    --_border: var(--synparam-border, #363c46); --_highlight: var(--synparam-highlight, #4a3f12); --_panel: #1b1f26;
    --_accent-strong: color-mix(in srgb, var(--_accent) 80%, white); }
}
.synparam *, .synparam *::before, .synparam *::after { box-sizing: border-box; }
.synparam [hidden] { display: none !important; }
.synparam .layout { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: calc(2 * var(--_space)); align-items: start; }
/* The split the user chooses (the layout buttons): the model wide (the default until a run), side
   by side (after a run), or the results wide. */
.synparam .layout[data-split="model"] { grid-template-columns: minmax(0, 3fr) minmax(16rem, 1fr); }
.synparam .layout[data-split="even"] { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
.synparam .layout[data-split="results"] { grid-template-columns: minmax(20rem, 1fr) minmax(0, 3fr); }
@container synparam (max-width: 900px) { .synparam .layout, .synparam .layout[data-split] { grid-template-columns: minmax(0, 1fr); } }
.synparam .split-choice { display: flex; gap: .25rem; justify-content: flex-end; align-items: center; font-size: .8rem; margin-block-end: .4rem; }
.synparam .split-choice button { font-size: .8rem; padding: .15rem .5rem; }
.synparam .split-choice button[aria-pressed="true"] { background: var(--_accent-bg); border-color: var(--_accent); }
.synparam .pane > section, .synparam .pane > div { margin-block-end: var(--_space); }
.synparam .card { border: 1px solid var(--_border); border-radius: 8px; padding: var(--_space); background: var(--_bg); }
.synparam h2 { font-size: 1rem; font-weight: 650; margin: 0 0 .5rem; letter-spacing: .01em; }
.synparam h3 { font-size: .9rem; font-weight: 600; margin: .75rem 0 .35rem; }
.synparam p { margin: .4rem 0; }
.synparam .row { display: flex; flex-wrap: wrap; gap: .4rem .75rem; align-items: center; margin: .4rem 0; }
.synparam label { display: inline-flex; align-items: center; gap: .35rem; flex-wrap: wrap; max-width: 100%; }
.synparam select { min-width: 0; max-width: 100%; text-overflow: ellipsis; }
.synparam button, .synparam select, .synparam input:not([type="checkbox"]):not([type="file"]), .synparam textarea {
  font: inherit; color: var(--_fg); background: var(--_bg); border: 1px solid var(--_border); border-radius: 6px; padding: .3rem .55rem; }
.synparam button { cursor: pointer; background: var(--_panel); }
.synparam button:hover:not(:disabled) { border-color: var(--_accent); }
.synparam button:disabled { opacity: .55; cursor: not-allowed; }
.synparam :is(button, select, input, textarea, summary, a, [tabindex]):focus-visible { outline: 2px solid var(--_accent); outline-offset: 1px; }
.synparam button.primary { background: var(--_accent-strong); color: var(--_bg); border-color: var(--_accent-strong); font-weight: 600; padding: .45rem 1.1rem; }
.synparam input[type="file"] { font-size: .85rem; max-width: 100%; }
.synparam .run-bar { position: sticky; bottom: 0; z-index: 2; background: var(--_bg); border: 1px solid var(--_border); border-radius: 8px;
  padding: .6rem var(--_space); box-shadow: 0 -4px 12px rgb(0 0 0 / 8%); }
.synparam .run-bar progress { width: 100%; height: .5rem; accent-color: var(--_accent); }
.synparam .skip-links button { position: absolute; left: -10000px; }
.synparam .skip-links button:focus { position: static; margin: .25rem; }
.synparam #editor .table-scroll { max-height: min(60vh, 40rem); overflow: auto; }
.synparam #editor-matrix thead th, .synparam #editor-matrix tr:first-child th { position: sticky; top: 0; z-index: 1; }
.synparam .run-plan { margin: .3rem 0; padding-inline-start: 1.1rem; font-size: .85rem; max-height: 9rem; overflow-y: auto; }
.synparam .run-plan li[data-status="skipped"], .synparam .run-plan li[data-status="refused"] { color: var(--_error); }
.synparam #scan-table tr[data-selected="false"], .synparam .scan-points li[data-selected="false"] { opacity: .45; }
.synparam .scan-points { font-size: .85rem; padding-inline-start: 1.1rem; }
.synparam .scan-points button { font-size: .8rem; padding: .1rem .4rem; margin-inline-start: .3rem; }
.synparam .run-plan button { font-size: .8rem; padding: .1rem .4rem; margin-inline-start: .3rem; }
.synparam .run-plan input[type="checkbox"] { margin: 0 .35rem 0 0; vertical-align: middle; }
.synparam #reproduce { flex-basis: 100%; }
.synparam #reproduce pre { white-space: pre-wrap; word-break: break-all; font-size: .78rem; background: var(--_panel); padding: .4rem; border-radius: 6px; margin: .3rem 0 .6rem; }
.synparam dialog { color: var(--_fg); background: var(--_bg); border: 1px solid var(--_border); border-radius: 8px; max-width: min(40rem, 90vw); }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { border-bottom: 1px solid var(--_border); padding: .3rem .5rem; text-align: right; }
    thead th { font-weight: 600; color: var(--_muted); font-size: .85rem; }
    th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
    .error { color: var(--_error); white-space: pre-wrap; }
    .downloads { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
    .downloads a { color: var(--_accent-strong); }
    textarea { width: 100%; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; }
    #config-status.error { color: var(--_error); }
    .table-scroll { overflow-x: auto; }
    #editor-matrix button { font-size: .8rem; text-align: left; width: 100%; }
    #editor-matrix button[aria-pressed="true"] { outline: 2px solid var(--_accent); }
    #editor-matrix button.invalid { border-color: var(--_error); color: var(--_error); border-width: 2px; }
    #editor-matrix button.cell { display: flex; flex-direction: column; align-items: flex-start; gap: .1rem; white-space: nowrap; }
    #editor-matrix button.cell[aria-pressed="true"] { background: var(--_accent-bg); }
    #editor-matrix .cell-count { color: var(--_muted); font-size: .72rem; }
    #editor-matrix button.header-select { background: none; border: none; font-weight: 600; padding: .1rem .2rem; white-space: nowrap; }
    #editor-matrix th { position: sticky; left: 0; background: var(--_bg); }
    #cell-fields input[aria-invalid="true"] { border-color: var(--_error); outline: 1px solid var(--_error); }
    /* The form keeps its size when the core's preview and formula arrive (opened at the bottom of
       the window, it is scrolled above the run bar once, at opening). */
    #cell-preview { min-height: 120px; } #cell-hint { min-height: 1.3em; }
    #cell-form, #preset-mapping, #fit-form { border: 1px solid var(--_border); border-radius: 8px; padding: .6rem; margin: .5rem 0; background: var(--_panel); }
    #drop-zone.dragging { border-color: var(--_accent); background: var(--_accent-bg); border-style: dashed; }
    #pathway-matrix { width: auto; font-size: .85rem; margin-bottom: .5rem; }
    #pathway-matrix caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
    tr.changed td, .property-figure.changed > figcaption { background: var(--_highlight); }
    .property-figure.changed > figcaption::after { content: " — changed since the last run"; font-weight: 400; }
    input, select, svg { max-width: 100%; }
    /* Observable Plot's own rules (it would inline them; the CSP forbids inline styles). */
    svg[class^="plot-"] { --plot-background: var(--_bg); display: block; height: auto; height: intrinsic; max-width: 100%; }
    svg[class^="plot-"] text, svg[class^="plot-"] tspan { white-space: pre; }
    figure[class^="plot-"] { margin: 0; }
    figure[class^="plot-"] h2 { font-size: .85rem; font-weight: 600; margin: 0; }
    figure[class^="plot-"] h3 { font-size: .72rem; font-weight: 400; color: var(--_muted); margin: 0 0 .25rem; max-width: 320px; }
    @container synparam (max-width: 600px) { th, td { padding: .2rem .3rem; font-size: .85rem; } }
    /* Narrow: the results' key columns (property, pathway, synapses, mean, std) without sideways scrolling. */
    .results-pane { container: results / inline-size; }
    @container results (max-width: 720px) { #results:not(.all-columns) :is(th, td):nth-child(n+6) { display: none; } }
    #results { font-size: .9rem; }
    .results-pane .table-scroll { max-height: 28rem; overflow: auto; }
    #results thead th { position: sticky; top: 0; background: var(--_bg); z-index: 1; }
    #results td:nth-child(2) { white-space: nowrap; text-align: left; }
    .mean-heatmap { margin: .5rem 0; }
    #results-count { color: var(--_muted); font-size: .85rem; }
    #results td.misfit { background: var(--_highlight); font-weight: 600; }
    .property-figure { margin: 1.25rem 0; }
    .property-figure > figcaption { font-weight: 600; margin-bottom: .5rem; }
    .histogram-grid { display: flex; flex-wrap: wrap; gap: 1rem 1.5rem; }
    .histogram-grid > figure { margin: 0; }
    .figure-actions { display: flex; gap: .5rem; font-size: .8rem; margin: .2rem 0 0; }
    .figure-actions a { color: var(--_accent-strong); }
    .figure-actions button { font-size: .75rem; padding: .05rem .4rem; }
    #figure-options:not([hidden]) { display: flex; flex-wrap: wrap; gap: .4rem .9rem; align-items: center; padding: .4rem 0; border-block: 1px solid var(--_border); margin: .5rem 0; }
    .setting-source { color: var(--_muted); font-size: .8rem; }
    #circuit[data-state="error"] { color: var(--_error); }
    #results tr.population-row th { text-align: left; padding-top: .75rem; border-bottom: 2px solid var(--_border); }
    .setting-source[data-source="override"] { color: inherit; background: var(--_highlight); padding: 0 .25rem; border-radius: 3px; }
    .setting-reset { font-size: .75rem; padding: .05rem .4rem; }
    #pathway-matrix td.missing, #pathway-matrix th.missing { color: var(--_error); }
    #preset-classes { width: auto; }
    #preset-classes tr.guessed td, #preset-classes tr.mixed td { background: var(--_highlight); }
    .note { color: var(--_muted); font-size: .85rem; }
    tr[data-state="unused"] { color: var(--_muted); font-style: italic; }
    tr[data-state="uncovered"] td:last-child { color: var(--_error); }
    #fallback.needed { outline: 2px solid var(--_error); }
    #fallback-populations:empty { display: none; }
    .fallback-population { white-space: nowrap; }
    .results-empty { color: var(--_muted); }
`;

/** Markup of the UI: every control has an id, unique within its container. */
export const MARKUP = `
<nav class="skip-links" aria-label="skip to">
  <button type="button" data-skip="model">Skip to the model</button>
  <button type="button" data-skip="run">Skip to Parameterize</button>
  <button type="button" data-skip="results">Skip to the results</button>
</nav>
<div class="split-choice" role="group" aria-label="layout">
  <span class="note">Layout:</span>
  <button type="button" data-split="model" aria-pressed="true" title="the model editor wide, the results narrow">model wide</button>
  <button type="button" data-split="even" aria-pressed="false" title="the model and the results side by side">side by side</button>
  <button type="button" data-split="results" aria-pressed="false" title="the results wide, the model narrow">results wide</button>
</div>
<div class="layout" data-split="model">
  <div class="pane controls">
  <section id="drop-zone" class="card" aria-labelledby="circuit-heading">
    <h2 id="circuit-heading">Circuit</h2>
    <p id="circuit">loading the circuit…</p>
    <p id="nodes" class="note"></p>
    <div id="unavailable" class="error" hidden><p>Not loaded — a run that needs these is refused; the rest can be parameterized:</p><ul></ul></div>
    <div class="row"><label>Drop a circuit folder or files here, or choose files (circuit_config.json and the .h5 files it names)
      <input id="files" type="file" multiple></label>
      <label>or a circuit folder <input id="folder" type="file" webkitdirectory></label></div>
    <p id="rules-classing" class="note" hidden>The model is rules: they class the nodes themselves (see <i>Rules coverage</i>), so the pathway property and its fallback value do not apply.</p>
    <div id="pathway-settings">
    <div class="row">
      <label>Pathway property <select id="pathway-property"></select></label>
      <small class="setting-source" data-setting="pathwayProperty"></small><button type="button" class="setting-reset" data-setting="pathwayProperty" hidden title="drop this override: use the config's value (or the default)">use config</button>
      <label><input id="all-properties" type="checkbox"> list numeric and identifier properties too</label>
    </div>
    <p id="pathway-values" class="note"></p>
    <div class="row">
      <label>Fallback value for nodes without it <input id="fallback" type="text" size="16" placeholder="(none)" list="fallback-values"></label> <small class="setting-source" data-setting="fallback"></small><button type="button" class="setting-reset" data-setting="fallback" hidden title="drop this override: use the config's value (or the default)">use config</button>
    </div>
    <div id="fallback-populations" class="row" role="group" aria-label="fallback values of their own, per node population"></div>
    <datalist id="fallback-values"></datalist>
    <p id="pathway-lacking" class="error" hidden></p>
    <div class="table-scroll" tabindex="0" role="region" aria-label="synapses per pathway (scrolls sideways when wide)"><table id="pathway-matrix" aria-label="synapses per pathway"></table></div>
    </div>
  </section>
  <section class="card" aria-labelledby="model-heading">
    <h2 id="model-heading" tabindex="-1">Model</h2>
    <div class="row">
      <label>Preset <select id="preset"></select></label>
      <button id="apply-preset" type="button">Use preset…</button>
      <button id="fit-open" type="button" title="a model fitted from the values the loaded circuit's edges hold">Fit from this circuit…</button>
      <button id="undo" type="button" title="undo the last change of the model (Ctrl+Z outside text fields)">Undo</button>
      <button id="redo" type="button" title="redo (Ctrl+Shift+Z)">Redo</button>
    </div>
    <form id="fit-form" hidden aria-labelledby="fit-title">
      <p id="fit-title">Fit a model from the loaded circuit's edges: per property and pathway (by <code id="fit-property"></code>, the pathway property), the law that describes the values its edges files hold — connectome-manipulator's extract and build, or the law chosen by the data. Nothing is written; the model replaces the one in the editor (Undo takes it back).</p>
      <div class="row">
        <label>Laws <select id="fit-mode"><option value="cm">connectome-manipulator's (gamma, truncnorm, discrete, constant)</option><option value="auto">chosen by the data (AIC, with a KS check)</option><option value="empirical">none: observed vectors drawn again (empirical)</option></select></label>
        <label>Minimum connections per pathway <input id="fit-min-samples" type="number" min="1" size="6" placeholder="(any)"></label>
      </div>
      <div class="row"><label>Laws of some properties <input id="fit-laws" size="34" placeholder="e.g. conductance=gamma, u_syn=truncnorm" spellcheck="false"></label></div>
      <div class="row">
        <button id="fit-run" type="button" class="primary">Fit</button>
        <button id="fit-close" type="button">Close</button>
        <progress id="fit-progress" value="0" max="1" aria-label="fit progress"></progress>
      </div>
      <p id="fit-status" role="status"></p>
      <div class="row" id="fit-result-row" hidden><label>Data vs model <select id="fit-property-view"></select></label> <span id="fit-downloads" class="downloads"></span></div>
      <div id="fit-view"></div>
    </form>
    <form id="preset-mapping" hidden aria-labelledby="preset-mapping-title">
      <div class="row"><label>Classes by <select id="preset-property"></select></label></div>
      <p id="preset-mapping-title"></p>
      <div class="table-scroll" tabindex="0" role="region" aria-label="classes of the pathway values (scrolls sideways when wide)"><table id="preset-classes" aria-label="class of each pathway value">
        <thead><tr><th scope="col">value</th><th scope="col">class</th><th scope="col">from</th></tr></thead><tbody></tbody>
      </table></div>
      <div id="preset-populations-block" hidden>
        <p id="preset-populations-title"></p>
        <div class="table-scroll" tabindex="0" role="region" aria-label="classes of the node populations without the pathway property (scrolls sideways when wide)"><table id="preset-populations" aria-label="class of each node population without the pathway property">
          <thead><tr><th scope="col">node population</th><th scope="col">class</th><th scope="col">nodes</th></tr></thead><tbody></tbody>
        </table></div>
      </div>
      <p id="preset-source" class="note"></p>
      <p id="preset-replaces" class="note"></p>
      <button id="preset-confirm" type="button" class="primary">Apply preset</button>
      <button id="preset-cancel" type="button">Cancel</button>
    </form>
    <details id="editor" open>
      <summary>Matrix editor</summary>
      <div class="row">
        <label>Property <select id="editor-property"></select></label>
        <button id="remove-property" type="button">Remove property</button>
        <label>New property <input id="new-property" size="14"></label>
        <button id="add-property" type="button">Add</button>
      </div>
      <div class="row">
        <label>Filter values <input id="editor-filter" type="search" size="14" placeholder="e.g. L5_"></label>
        <button id="select-shown" type="button" title="select every cell the filter shows (a pattern: e.g. L5_ selects L5 × L5)">Select all shown</button>
        <span id="editor-filter-note" class="note"></span>
      </div>
      <p class="note">Click a cell to edit it; Ctrl/⌘-click or Shift-click to select several, a row or column name for the whole row or column; arrow keys move, Enter edits, Escape closes.</p>
      <div class="table-scroll" tabindex="0" role="region" aria-label="specs per pathway (scrolls sideways when wide)"><table id="editor-matrix" aria-label="specs per pathway"></table></div>
      <form id="cell-form" hidden aria-labelledby="cell-title">
        <p id="cell-title"></p>
        <p id="cell-formless" class="note" hidden></p>
        <div class="row">
          <label>Distribution <select name="type"></select></label>
          <span id="cell-fields" class="row"></span>
        </div>
        <p id="cell-hint" class="note"></p>
        <div class="row">
          <label><input type="checkbox" name="shared_within" checked> shared within a connection</label>
          <label>lower bound <input name="lower_bound" size="6"></label>
          <label>upper bound <input name="upper_bound" size="6"></label>
          <label title="added to every value">shift <input name="shift" size="5"></label>
          <label title="the law restricted to a window: values redrawn within it, never clipped (bounds clip)">truncate to [<input name="truncate_min" size="5" aria-label="truncate from">, <input name="truncate_max" size="5" aria-label="truncate to">]</label>
          <label>dtype <select name="dtype"></select></label>
        </div>
        <div class="row" title="multiply each value by a function of the synapse's own attribute: an edge dataset (afferent_section_type, afferent_section_pos, …) or distance_soma (µm from the presynaptic soma)">
          <label>scale by <input name="scale_attribute" size="16" list="scale-attributes" placeholder="(none)"></label>
          <datalist id="scale-attributes"></datalist>
          <label>as <select name="scale_kind"><option value="linear">a + b·x</option><option value="table">table of x y points</option></select></label>
          <label>values <input name="scale_values" size="22" placeholder="a b, or x y, x y, …"></label>
        </div>
        <div id="cell-preview" role="group" aria-label="density preview"></div>
        <p id="cell-error" class="error"></p>
        <div class="row">
          <button type="button" data-scope="selected" id="apply-selected" hidden>Apply to the selected cells</button>
          <button type="button" data-scope="cell">Apply to cell</button>
          <button type="button" data-scope="row">Apply to row</button>
          <button type="button" data-scope="column">Apply to column</button>
          <button type="button" data-scope="all">Apply to all</button>
        </div>
      </form>
    </details>
    <details id="rules-coverage" open hidden>
      <summary>Rules coverage</summary>
      <p id="rules-summary" class="note"></p>
      <div class="table-scroll" tabindex="0" role="region" aria-label="rules in order (scrolls sideways when wide)"><table id="rules-table" aria-label="rules, in order: later ones win"></table></div>
      <div class="table-scroll" tabindex="0" role="region" aria-label="the rule setting each property of each pathway (scrolls sideways when wide)"><table id="coverage-table" aria-label="the rule setting each property of each pathway"></table></div>
      <p id="rules-unmatched" class="note" role="status" hidden></p>
      <form id="later-rule" hidden aria-labelledby="later-rule-title">
        <p id="later-rule-title"></p>
        <div class="row">
          <label>Property <select name="property"></select></label>
          <label>Spec (JSON) <input name="spec" size="60" spellcheck="false"></label>
        </div>
        <p id="later-rule-hint" class="note"></p>
        <div class="row"><button type="button" id="later-rule-add">Add as the last rule</button> <button type="button" id="later-rule-cancel">Cancel</button></div>
      </form>
      <p id="later-rule-note" class="note" role="status"></p>
      <section id="rules-names" hidden aria-labelledby="rules-names-heading">
        <h4 id="rules-names-heading">Names: the rules' values against this circuit's</h4>
        <p class="note">A recipe from another circuit names values this one lacks: map each to the circuit values it stands for (comma-separated, globs allowed). The table is kept in the model (synparam rules' <code>aliases</code>), and so in the sidecar.</p>
        <div class="table-scroll" tabindex="0" role="region" aria-label="names to map (scrolls sideways when wide)"><table id="names-table" aria-label="the rules' values this circuit lacks, and what each stands for"></table></div>
        <p id="names-unnamed" class="note"></p>
        <div class="row"><button id="apply-aliases" type="button">Map these names</button> <span id="aliases-note" class="note" role="status"></span></div>
      </section>
      <ul id="rules-notes" class="note"></ul>
      <div class="row">
        <label title="a rule naming a value no node of this circuit has is refused, as functionalizer's untranslated values, instead of reported"><input id="strict-rules" type="checkbox"> Strict: refuse rules that match no node of this circuit</label>
      </div>
      <div class="row">
        <button id="download-rules" type="button" title="these rules in synparam's rules JSON (every model exports to it)">Download as rules JSON</button>
        <button id="download-compiled" type="button" title="the ConnPropsModel the rules compile to for this circuit: one pathway per class of nodes they tell apart" disabled>Download the compiled ConnPropsModel</button>
      </div>
    </details>
    <p><label for="config">Model as JSON (ConnPropsModel dict or task form), or rules: a BBP recipe (JSON, YAML or XML) or synparam rules — paste what you have</label></p>
    <textarea id="config" rows="12" spellcheck="false"></textarea>
    <p id="config-status" role="status"></p>
    <div class="row">
      <label>Upload a config <input id="config-file" type="file" accept=".json,.yaml,.yml,.xml,application/json"></label>
      <button id="download-config" type="button">Download config</button>
      <label>Load from a parameterized circuit <input id="provenance-file" type="file" accept=".json,application/json" title="its parameterization.json: config, seed, pathway property and fallback of that run"></label>
      <button id="share" type="button" hidden>Link to this model</button>
    </div>
    <p id="config-file-note" class="error" role="status"></p>
    <p class="row"><input id="share-link" type="text" readonly hidden aria-label="link to this model" size="40"> <span id="share-note" class="note" role="status"></span></p>
  </section>
  <section class="run-bar" aria-label="run">
    <div class="row">
      <label><input id="overwrite" type="checkbox"> Overwrite properties that already exist</label> <small class="setting-source" data-setting="overwrite"></small><button type="button" class="setting-reset" data-setting="overwrite" hidden title="drop this override: use the config's value (or the default)">use config</button>
    </div>
    <div class="row">
      <label>Seed <input id="seed" type="text" inputmode="numeric" value="1" size="21" spellcheck="false"></label> <small class="setting-source" data-setting="seed"></small><button type="button" class="setting-reset" data-setting="seed" hidden title="drop this override: use the config's value (or the default)">use config</button>
    </div>
    <p id="scan-plan" class="note" hidden></p>
    <ul id="run-plan" class="run-plan" aria-label="what a run does with each edge population" hidden></ul>
    <p id="run-blocked" class="error" hidden></p>
    <div class="row">
      <button id="run" type="button" class="primary" disabled aria-describedby="run-blocked">Parameterize</button>
      <button id="rerun-changes" type="button" hidden disabled title="run the model's edits as a change of the run whose zip you downloaded last: its recorded settings, only what the edits change draws anew, and the new zip's sidecar names that run as its parent">Re-run changes only</button>
      <button id="cancel" type="button" disabled>Cancel</button>
    </div>
    <dialog id="skip-confirm" aria-labelledby="skip-confirm-title">
      <p id="skip-confirm-title">This run leaves some synapses as they are:</p>
      <ul id="skip-confirm-list"></ul>
      <p class="note">Their edges are copied unchanged; the result and the sidecar list them.</p>
      <div class="row">
        <button id="skip-confirm-run" type="button" class="primary">Skip them and parameterize</button>
        <button id="skip-confirm-cancel" type="button">Cancel</button>
      </div>
    </dialog>
    <progress id="progress" value="0" max="1" aria-label="progress"></progress>
    <p id="status" role="status"></p>
  </section>
  </div>
  <div class="pane results-pane" id="results-pane">
  <section class="card" aria-labelledby="results-heading">
    <h2 id="results-heading" tabindex="-1">Results</h2>
    <p id="results-none" class="results-empty">No run yet: the results of <i>Parameterize</i> open here.</p>
    <div class="row" id="results-controls" hidden>
      <label>Edge population <select id="population-filter"></select></label>
      <label>Property <select id="property-filter"></select></label>
      <label>Pathway <input id="pathway-filter" type="search" size="12" placeholder="e.g. L5_TPC"></label>
      <label><input id="all-columns" type="checkbox"> all columns</label>
    </div>
    <div class="table-scroll" tabindex="0" role="region" aria-label="results table (scrolls sideways when wide)"><table id="results" hidden>
      <thead><tr><th scope="col">property</th><th scope="col">pathway</th><th scope="col">synapses</th><th scope="col">mean</th><th scope="col">std</th><th scope="col">min</th><th scope="col">max</th><th scope="col">clipped</th><th scope="col">spec mean</th><th scope="col">spec std</th><th scope="col">connections</th><th scope="col" title="χ² goodness of fit of the independent draws (one per connection where draws are shared) against the spec">fit p</th><th scope="col" title="the mean of the values the edges file held before this run (runs with Overwrite)">before mean</th><th scope="col" title="the new mean over the mean before; highlighted beyond 2× either way">× before</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p id="results-count" role="status"></p>
    <div id="downloads" role="group" aria-label="downloads" class="downloads"></div>
    <div id="figure-options" hidden>
      <label><input id="figure-shared-x" type="checkbox"> shared x scale per property</label>
      <label>y scale <select id="figure-y-scale"><option value="linear">linear</option><option value="symlog">log</option></select></label>
      <label>view <select id="figure-view"><option value="histogram">histogram</option><option value="cdf">cumulative (CDF)</option></select></label>
      <button id="download-figures" type="button">Download all figures (SVG, zip)</button>
    </div>
    <section id="histograms" aria-label="histograms"></section>
    <section id="scan-view" aria-labelledby="scan-heading" hidden>
      <h3 id="scan-heading">Scan: the points compared</h3>
      <p id="scan-summary"></p>
      <div class="row" id="scan-axes" role="group" aria-label="scan axes: a value per axis picks its points"></div>
      <div id="scan-legend"></div>
      <div class="table-scroll" tabindex="0" role="region" aria-label="statistics by scan point"><table id="scan-table">
        <thead><tr><th scope="col">edge population</th><th scope="col">property</th><th scope="col">pathway</th><th scope="col">point</th><th scope="col">synapses</th><th scope="col">mean</th><th scope="col">std</th></tr></thead>
        <tbody></tbody>
      </table></div>
      <div id="scan-figures" class="histogram-grid"></div>
    </section>
  </section>
  </div>
</div>
`;
