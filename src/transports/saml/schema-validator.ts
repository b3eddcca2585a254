/**
 * XML schema validation of SAML responses without Java: libxml2's xmllint compiled to
 * WebAssembly (xmllint-wasm, the engine of @authenio/samlify-xmllint-wasm) against the
 * SAML 2.0 protocol, assertion, xmldsig and xenc XSDs that package ships.
 *
 * `@authenio/samlify-xmllint-wasm`'s own `validate()` starts a new worker thread, compiles
 * the WASM module and parses the XSDs for every document (about 80 ms of CPU each), which
 * caps a gateway at a dozen sign-ins per second. Here one long-lived worker thread keeps
 * the compiled module and validates documents in micro-batches: xmllint takes several
 * files per run and reports each one, so the fixed cost of a run (parsing the XSDs,
 * about 9 ms) is shared by every response that arrived within `batchWindowMs`.
 * Results are per document, exactly as xmllint reports them. The documents of a run share
 * xmllint's stderr, which quotes document content verbatim: each document gets a random
 * 128-bit file name per run, only lines starting with that name count, and a document without
 * exactly one verdict line is validated again alone (and is invalid if that does not decide it).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

export interface SchemaResult {
  valid: boolean;
  /** xmllint's messages for this document (file name stripped). */
  errors: string[];
}

export interface SchemaValidatorOptions {
  /** How long the first document of a batch waits for others (default 40 ms). */
  batchWindowMs?: number;
  /** Documents per xmllint run (default 64). */
  maxBatchDocuments?: number;
  /** Bytes per xmllint run (default 4 MiB; the WASM heap holds them all). */
  maxBatchBytes?: number;
  /** A run that takes longer fails its documents and restarts the worker (default 15 s). */
  runTimeoutMs?: number;
}

const SCHEMA_FILES = [
  'saml-schema-protocol-2.0.xsd',
  'saml-schema-assertion-2.0.xsd',
  'xmldsig-core-schema.xsd',
  'xenc-schema.xsd',
  'datatypes.dtd',
  'XMLSchema.dtd',
];

/** Runs inside the worker (CommonJS, eval). xmllint-node.js's own message handler stays idle: we talk over our own port. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const { port, xmllintPath, wasmPath, schemaDir, schemaFiles } = workerData;
const factory = require(xmllintPath);
const wasm = new WebAssembly.Module(fs.readFileSync(wasmPath));
const schemas = schemaFiles.map((f) => ({ fileName: f, contents: fs.readFileSync(path.join(schemaDir, f), 'utf8') }));
const decoder = new TextDecoder();
// Every document of a run gets a fresh random name (128 bits): xmllint's stderr is shared by the
// batch and quotes document content verbatim (newlines included), so a verdict line is only
// believed when it starts with a name no document can know.
const run = (docs, names) => new Promise((resolve, reject) => {
  const out = [];
  const err = [];
  factory({
    inputFiles: [...docs.map((contents, i) => ({ fileName: names[i], contents })), ...schemas],
    arguments: ['--nonet', '--schema', schemaFiles[0], '--noout', ...names],
    stdout: (c) => out.push(c),
    stderr: (c) => err.push(c),
    onExit: (code) => resolve({ code, stderr: decoder.decode(Uint8Array.from(err)) }),
    instantiateWasm: (imports, done) => {
      WebAssembly.instantiate(wasm, imports).then((instance) => done(instance), reject);
      return {};
    },
    wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 1024 }),
  }).catch(reject);
});
// Per document: its verdict lines ("<name> validates" / "<name> fails to validate", exactly) and
// its messages ("<name>:<line>: ..."). Lines that start with no name of this run are ignored.
const parse = (names, stderr) => {
  const results = names.map(() => ({ status: null, verdicts: 0, errors: [] }));
  const index = new Map(names.map((n, i) => [n, i]));
  for (const line of stderr.split('\\n')) {
    const m = /^([0-9a-f]{32}\\.xml)([: ])/.exec(line);
    const i = m ? index.get(m[1]) : undefined;
    if (i === undefined) continue;
    const r = results[i];
    const rest = line.slice(m[1].length);
    if (rest === ' validates') { r.verdicts += 1; r.status = true; }
    else if (rest === ' fails to validate') { r.verdicts += 1; r.status = false; }
    else if (m[2] === ':') r.errors.push(rest.slice(1).replace(/^\\d+: /, '').trim());
  }
  for (const r of results) {
    // Not exactly one verdict: undecided (validated again alone), except a document xmllint
    // could not even parse, which gets messages and no verdict: invalid.
    if (r.verdicts > 1) r.status = null;
    else if (r.verdicts === 0) r.status = r.errors.length > 0 ? false : null;
    delete r.verdicts;
  }
  return results;
};
port.on('message', async ({ id, docs }) => {
  try {
    const names = docs.map(() => randomBytes(16).toString('hex') + '.xml');
    const { code, stderr } = await run(docs, names);
    const results = parse(names, stderr);
    port.postMessage({ id, code, results });
  } catch (error) {
    port.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

interface Pending {
  xml: string;
  resolve: (r: SchemaResult) => void;
  reject: (e: Error) => void;
}

interface WorkerReply {
  id: number;
  code?: number;
  error?: string;
  results?: { status: boolean | null; errors: string[] }[];
}

const resolvePaths = () => {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@authenio/samlify-xmllint-wasm');
  const fromPkg = createRequire(pkg);
  const xmllintPath = fromPkg.resolve('xmllint-wasm/xmllint-node.js');
  return { xmllintPath, wasmPath: join(dirname(xmllintPath), 'xmllint.wasm'), schemaDir: join(dirname(pkg), 'schemas') };
};

export class SchemaValidator {
  readonly #options: Required<SchemaValidatorOptions>;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Map<number, { batch: Pending[]; timeout: NodeJS.Timeout }>();
  #nextId = 1;
  #closed = false;
  /** Runs and documents so far (benchmark and metrics). */
  readonly stats = { runs: 0, documents: 0 };

  constructor(options: SchemaValidatorOptions = {}) {
    this.#options = {
      batchWindowMs: options.batchWindowMs ?? 40,
      maxBatchDocuments: options.maxBatchDocuments ?? 64,
      maxBatchBytes: options.maxBatchBytes ?? 4 * 1024 * 1024,
      runTimeoutMs: options.runTimeoutMs ?? 15_000,
    };
  }

  /** Validates one document against the SAML protocol schema. Rejects only on internal failure. */
  validate(xml: string): Promise<SchemaResult> {
    if (this.#closed) return Promise.reject(new Error('schema validator is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ xml, resolve, reject });
      const full = this.#queue.length >= this.#options.maxBatchDocuments;
      if (full) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.batchWindowMs);
    });
  }

  /** Starts the worker now (otherwise the first document pays for it). */
  async warmUp(): Promise<void> {
    await this.validate('<x/>');
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#failAll(new Error('schema validator closed'));
    const w = this.#worker;
    this.#worker = undefined;
    this.#port?.close();
    this.#port = undefined;
    if (w) await w.terminate();
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch: Pending[] = [];
      let bytes = 0;
      while (this.#queue.length > 0 && batch.length < this.#options.maxBatchDocuments) {
        const next = this.#queue[0]!;
        if (batch.length > 0 && bytes + next.xml.length > this.#options.maxBatchBytes) break;
        batch.push(this.#queue.shift()!);
        bytes += next.xml.length;
      }
      this.#send(batch);
    }
  }

  #ensureWorker(): MessagePort {
    if (this.#port) return this.#port;
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: port2, ...resolvePaths(), schemaFiles: SCHEMA_FILES },
      transferList: [port2],
    });
    worker.unref();
    port1.unref();
    port1.on('message', (reply: WorkerReply) => this.#onReply(reply));
    const fail = (error: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#port = undefined;
      port1.close();
      this.#failAll(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`schema validation worker exited (${code})`)));
    this.#worker = worker;
    this.#port = port1;
    return port1;
  }

  #send(batch: Pending[]): void {
    const port = this.#ensureWorker();
    const id = this.#nextId++;
    const timeout = setTimeout(() => {
      const w = this.#worker;
      this.#worker = undefined;
      this.#port?.close();
      this.#port = undefined;
      this.#failAll(new Error('schema validation timed out'));
      void w?.terminate();
    }, this.#options.runTimeoutMs);
    timeout.unref();
    this.#inFlight.set(id, { batch, timeout });
    port.ref(); // keep the process alive while documents wait for their result
    this.stats.runs += 1;
    this.stats.documents += batch.length;
    port.postMessage({ id, docs: batch.map((p) => p.xml) });
  }

  #onReply(reply: WorkerReply): void {
    const entry = this.#inFlight.get(reply.id);
    if (!entry) return;
    this.#inFlight.delete(reply.id);
    clearTimeout(entry.timeout);
    if (this.#inFlight.size === 0) this.#port?.unref();
    const { batch } = entry;
    const results = reply.results;
    const undecided = !results || results.some((r) => r.status === null);
    if (reply.error || undecided) {
      // xmllint gave up on the run (e.g. out of memory): decide each document alone.
      if (batch.length > 1) {
        for (const p of batch) this.#send([p]);
        return;
      }
      const p = batch[0]!;
      if (reply.error) p.reject(new Error(`schema validation failed: ${reply.error}`));
      else p.resolve({ valid: false, errors: results?.[0]?.errors.length ? results[0].errors : [`xmllint could not validate the document (exit code ${reply.code})`] });
      return;
    }
    batch.forEach((p, i) => p.resolve({ valid: results[i]!.status === true, errors: results[i]!.errors }));
  }

  #failAll(error: Error): void {
    for (const { batch, timeout } of this.#inFlight.values()) {
      clearTimeout(timeout);
      for (const p of batch) p.reject(error);
    }
    this.#inFlight.clear();
    for (const p of this.#queue) p.reject(error);
    this.#queue = [];
  }
}
