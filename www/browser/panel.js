// <synparam-panel>: the synparam UI as a custom element, for host platforms. Shadow DOM (styles in,
// host styles out; themeable with --synparam-* custom properties), its own worker per instance,
// created when connected and terminated when removed (a move within the page keeps it).
import { createApp } from "../ui/app.js";
import { STYLES } from "../ui/template.js";

const BASE_URL = new URL(".", import.meta.url);

/** The panel's styles as one constructable stylesheet, shared by every instance: adopted by the
 * shadow root, so a host's Content-Security-Policy needs no inline styles. */
let sheet = null;
function panelSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(`:host { display: block; } :host([hidden]) { display: none; }\n${STYLES}`);
  }
  return sheet;
}

/** Files as the worker takes them: by relative path (a chosen folder keeps its layout). */
function filesByPath(files) {
  return Object.fromEntries([...files].map((file) => {
    const relative = file.webkitRelativePath ? file.webkitRelativePath.slice(file.webkitRelativePath.indexOf("/") + 1) : file.name;
    return [relative, file];
  }));
}

/**
 * The synparam panel. Attributes (and properties): `circuit-url`/`circuitUrl`, `config` (JSON text;
 * the property also takes an object), `seed`, `pathway-property`/`pathwayProperty`,
 * `assets-url`/`assetsUrl` (where worker.js lives; default: beside this module),
 * `allowed-origins`/`allowedOrigins` (space-separated origins, besides the circuit's, that its files
 * may come from; fetched without credentials). Property only: `fetchInit` (e.g. `{headers:
 * {Authorization: "Bearer …"}}`), sent with the circuit's files on the circuit URL's origin only.
 * Events (bubbling, composed; `detail` is plain data): `synparam-ready`, `synparam-progress`,
 * `synparam-result`, `synparam-error`.
 */
export class SynparamPanel extends HTMLElement {
  static observedAttributes = ["circuit-url", "config", "seed", "pathway-property", "assets-url", "allowed-origins"];

  #app = null;
  #circuit = null; // {circuitUrl, fetchInit} | {files}
  #fetchInit = undefined;
  #allowedOrigins = [];
  #config = null;
  #overrides = {}; // run settings the host set (or the UI had) over the config: name → {value, by}

  connectedCallback() {
    if (this.#app) return; // moved within the page: keep the running instance
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    shadow.adoptedStyleSheets = [panelSheet()];
    const root = Object.assign(document.createElement("div"), { className: "synparam" });
    shadow.replaceChildren(root);
    const workerUrl = new URL("worker.js", this.getAttribute("assets-url") ? new URL(this.getAttribute("assets-url"), document.baseURI) : BASE_URL);
    this.#app = createApp(root, {
      workerUrl,
      circuit: this.#circuit ?? this.#circuitFromAttribute(),
      emit: (type, detail) => this.dispatchEvent(new CustomEvent(`synparam-${type}`, { detail, bubbles: true, composed: true })),
    });
    if (this.#config !== null) this.#app.setConfig(this.#config);
    this.#app.restoreOverrides(this.#overrides);
  }

  disconnectedCallback() {
    // A move disconnects and reconnects at once: only tear down if still detached afterwards.
    queueMicrotask(() => {
      if (this.isConnected || !this.#app) return;
      const state = this.#app.state();
      this.#config = state.config;
      this.#overrides = state.overrides;
      this.#app.destroy();
      this.#app = null;
    });
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value) return;
    if (name === "circuit-url") this.circuitUrl = value;
    else if (name === "config") this.config = value;
    else if (name === "seed") this.seed = value;
    else if (name === "pathway-property") this.pathwayProperty = value;
    else if (name === "allowed-origins") this.allowedOrigins = value;
  }

  #circuitFromAttribute() {
    const url = this.getAttribute("circuit-url");
    return url ? { circuitUrl: new URL(url, document.baseURI).href, fetchInit: this.#fetchInit, allowedOrigins: this.#allowedOrigins } : null;
  }

  #load(circuit) {
    this.#circuit = circuit;
    this.#app?.load(circuit);
  }

  get circuitUrl() { return this.#circuit?.circuitUrl ?? null; }
  set circuitUrl(url) { if (url) this.#load({ circuitUrl: new URL(url, document.baseURI).href, fetchInit: this.#fetchInit, allowedOrigins: this.#allowedOrigins }); }

  /** Origins, besides the circuit URL's, that the circuit's files may come from (fetched without
   * the host's credentials). A list, or a space-separated string. */
  get allowedOrigins() { return [...this.#allowedOrigins]; }
  set allowedOrigins(value) {
    const list = Array.isArray(value) ? value : String(value ?? "").split(/\s+/).filter(Boolean);
    this.#allowedOrigins = list.map((origin) => new URL(origin).origin);
    if (this.#circuit?.circuitUrl) this.#load({ ...this.#circuit, allowedOrigins: this.#allowedOrigins });
  }

  get fetchInit() { return this.#fetchInit; }
  set fetchInit(init) {
    // Headers objects do not cross to the worker: send plain pairs.
    this.#fetchInit = init ? { ...init, headers: init.headers ? Object.fromEntries(new Headers(init.headers)) : undefined } : undefined;
    if (this.#circuit?.circuitUrl) this.#load({ ...this.#circuit, fetchInit: this.#fetchInit });
  }

  get config() { return this.#app?.state().config ?? this.#config; }
  set config(value) {
    this.#config = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    this.#app?.setConfig(this.#config);
  }

  /** The seed the next run uses as shown (the config's random_seed unless set); setting it
   * overrides the config's. */
  get seed() { return Number(this.#app?.state().seed ?? this.#overrides.seed?.value); }
  set seed(value) {
    this.#overrides.seed = { value: Number(value), by: "the host" };
    this.#app?.restoreOverrides({ seed: this.#overrides.seed });
  }

  /** The pathway property as shown; setting it overrides the config's `pathway_property`. */
  get pathwayProperty() { return this.#app?.state().pathwayProperty ?? this.#overrides.pathwayProperty?.value ?? null; }
  set pathwayProperty(value) {
    this.#overrides.pathwayProperty = { value, by: "the host" };
    this.#app?.restoreOverrides({ pathwayProperty: this.#overrides.pathwayProperty });
  }

  /** Load local files (a FileList or File[]; a chosen folder keeps its layout). */
  loadFiles(files) { this.#load({ files: filesByPath(files) }); }

  /** Load files given as buffers: `{relativePath: ArrayBuffer | Uint8Array}`. */
  loadBuffers(buffers) { this.#load({ files: { ...buffers } }); }

  /** Run with the current circuit, config and seed; resolves with `{results, columns, stats,
   * warnings, edges, seed, pathwayProperty}` (`results`: Arrow tables for runs up to 2 M synapses;
   * `columns`: the Arrow IPC files, always). */
  run() { return this.#connected().run({ tables: "auto" }); }

  /** The last run's `{results: {population: arrow.Table}, stats, warnings, seed, pathwayProperty}`, or null. */
  getResults() { return this.#app?.results() ?? null; }

  /** Each parameterized edges file of the last run as a Blob, by its path in the circuit. */
  exportEdges() { return this.#connected().edges(); }

  /** The last run's whole parameterized circuit (layout, config, sidecar) as a zip Blob. */
  exportCircuit() { return this.#connected().zip(); }

  #connected() {
    if (!this.#app) throw new Error("synparam-panel: not connected to a document");
    return this.#app;
  }
}

if (!customElements.get("synparam-panel")) customElements.define("synparam-panel", SynparamPanel);
