// Models from files: a config uploaded (JSON, YAML read into JSON, XML) — only text replaces the
// model, a binary or huge file is refused naming it — and a parameterized circuit's sidecar, whose
// config and settings reproduce that run bit for bit.

/** Largest config file the page loads into its text area. */
export const CONFIG_FILE_LIMIT = 20e6;

/**
 * Mount the two file inputs on `$`. `onConfig(text)` receives an uploaded config's text;
 * `call` asks the worker to read a sidecar, whose settings go to `onProvenance(data)`;
 * `onError(error)` receives a failed reading.
 */
export function mountConfigFiles({ $, call, onConfig, onProvenance, onError }) {
  $("config-file").addEventListener("change", async () => {
    const [file] = $("config-file").files;
    if (!file) return;
    // Said beside the upload, where a later validation of the (kept) model cannot overwrite it.
    const refuse = (why) => {
      $("config-file-note").textContent = `${file.name} was not loaded: ${why}`;
    };
    $("config-file-note").textContent = "";
    if (file.size > CONFIG_FILE_LIMIT) return refuse(`it has ${file.size} bytes; a config is text of at most ${CONFIG_FILE_LIMIT / 1e6} MB`);
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
    } catch {
      return refuse("it is not UTF-8 text (is it the right file?)");
    }
    if (text.includes("\u0000")) return refuse("it holds NUL bytes, so it is not a JSON config (is it the right file?)");
    if (/\.ya?ml$/i.test(file.name)) {
      // A YAML recipe is read into JSON here (loading); the core reads JSON.
      try {
        const { default: yaml } = await import("js-yaml");
        text = JSON.stringify(yaml.load(text, { schema: yaml.JSON_SCHEMA }), null, 2);
      } catch (error) {
        return refuse(`it is not readable YAML (${error.message})`);
      }
    }
    onConfig(text);
  });
  $("provenance-file").addEventListener("change", async () => {
    const [file] = $("provenance-file").files;
    if (!file) return;
    call("provenance", { text: await file.text(), name: file.name }).then(onProvenance, onError);
  });
}
