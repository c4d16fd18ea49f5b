// A draw worker in the browser (dist/draw_worker.js): the core's wasm instance drawing chunks for
// the page's worker, which reads and writes, and hashing a run's files afterwards (run/draw.js,
// design §6).
import { initSync, Parameterizer, FileDigest } from "../../pkg/synparam.js";
import { serveWorker } from "../run/protocol.js";
import { drawMethods } from "../run/draw.js";

serveWorker(drawMethods({ initSync, Parameterizer, FileDigest }));
