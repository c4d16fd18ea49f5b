// A draw worker in Node (a worker thread of the command or the Node API): the core's wasm instance
// drawing chunks for the main thread, which reads and writes (run/draw.js, design §6).
import { parentPort } from "node:worker_threads";
import { initSync, Parameterizer, FileDigest } from "../../pkg/synparam.js";
import { serveWorker, nodeEndpoint } from "../run/protocol.js";
import { drawMethods } from "../run/draw.js";

serveWorker(drawMethods({ initSync, Parameterizer, FileDigest }), { endpoint: nodeEndpoint(parentPort) });
