/**
 * The file a training round is handed to the trainer process in (ProcessTrainer → trainer-process).
 * Written straight from the records' own typed arrays with one gathered write (no packing copy, no
 * structured-clone serialisation: for 1,000 Fashion-MNIST records, 14 MB, packing took ~50 ms and
 * v8.serialize another ~45 ms of the serving thread; scratch/send-micro.mjs), read back as views
 * into one buffer.
 *
 * Layout: "LLR1", u32 JSON length, JSON {heads, options, records, keep}, zero padding to 8 bytes,
 * the index (float64: per record id, teacher length, number of cuts, each cut's feature length,
 * 0 = none), the ids to keep (float64), then every record's teacher and features (float32).
 */
import { closeSync, openSync, readFileSync, writeSync, writevSync } from 'node:fs';
import type { HeadJob, RoundOptions, RoundRecord } from './trainer.js';

export interface RoundFile {
  /** records the trainer has not got yet, by id */
  add: Array<[number, RoundRecord]>;
  /** ids of every record it should keep (the rest it forgets) */
  keep: Float64Array;
  heads: HeadJob[];
  options: RoundOptions;
}

const MAGIC = 'LLR1';
/** writev takes at most IOV_MAX (1,024 on Linux) buffers a call */
const IOV_MAX = 1024;

const bytesOf = (a: Float32Array | Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export function writeRoundFile(file: string, round: RoundFile): void {
  const index: number[] = [];
  const body: Buffer[] = [];
  for (const [id, r] of round.add) {
    index.push(id, r.teacher.length, r.features.length);
    body.push(bytesOf(r.teacher));
    // a lean request's features have holes (cuts it did not pool): for…of visits them as undefined
    for (const f of r.features) {
      index.push(f?.length ?? 0);
      if (f?.length) body.push(bytesOf(f));
    }
  }
  const json = Buffer.from(JSON.stringify({ heads: round.heads, options: round.options, records: round.add.length, index: index.length, keep: round.keep.length }));
  const head = Buffer.alloc(8 + Math.ceil(json.length / 8) * 8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 4);
  json.copy(head, 8);
  const parts = [head, bytesOf(Float64Array.from(index)), bytesOf(round.keep), ...body];
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < parts.length; i += IOV_MAX) {
      const chunk = parts.slice(i, i + IOV_MAX);
      const want = chunk.reduce((a, b) => a + b.length, 0);
      const wrote = writevSync(fd, chunk);
      // a short gathered write (not expected on a local file): finish it buffer by buffer
      if (wrote < want) writeRest(fd, chunk, wrote);
    }
  } finally {
    closeSync(fd);
  }
}

function writeRest(fd: number, chunk: Buffer[], done: number): void {
  for (const b of chunk) {
    if (done >= b.length) {
      done -= b.length;
      continue;
    }
    let off = done;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    done = 0;
  }
}

export function readRoundFile(file: string): RoundFile {
  let buf: Uint8Array = readFileSync(file);
  const bad = (why: string) => new Error(`training round file ${file}: ${why}`);
  if (buf.length < 8 || Buffer.from(buf.buffer, buf.byteOffset, 4).toString('latin1') !== MAGIC) throw bad('not a round file');
  // typed-array views need aligned offsets
  if (buf.byteOffset % 8) buf = Uint8Array.from(buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const jsonLength = dv.getUint32(4, true);
  if (8 + jsonLength > buf.length) throw bad('truncated header');
  let meta: { heads: HeadJob[]; options: RoundOptions; records: number; index: number; keep: number };
  try {
    meta = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, jsonLength).toString());
  } catch (e) {
    throw bad(`damaged header (${(e as Error).message})`);
  }
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!meta || !Array.isArray(meta.heads) || !count(meta.records) || !count(meta.index) || !count(meta.keep) || meta.records * 3 > meta.index) throw bad('damaged header');
  let at = 8 + Math.ceil(jsonLength / 8) * 8;
  const view64 = (n: number) => {
    if (at + n * 8 > buf.length) throw bad('truncated');
    const v = new Float64Array(buf.buffer, buf.byteOffset + at, n);
    at += n * 8;
    return v;
  };
  const index = view64(meta.index);
  const keep = view64(meta.keep);
  const floats = (buf.length - at) / 4;
  if (!Number.isInteger(floats)) throw bad('truncated data');
  const data = new Float32Array(buf.buffer, buf.byteOffset + at, floats);
  const add: Array<[number, RoundRecord]> = [];
  let i = 0;
  let o = 0;
  const entry = () => {
    const v = index[i++];
    if (v === undefined || !count(v)) throw bad('damaged index');
    return v;
  };
  const take = (n: number) => {
    if (o + n > data.length) throw bad('truncated data');
    return data.subarray(o, (o += n));
  };
  for (let k = 0; k < meta.records; k++) {
    const id = entry();
    const teacher = take(entry());
    const cuts = entry();
    const features: Array<Float32Array | undefined> = [];
    for (let c = 0; c < cuts; c++) {
      const len = entry();
      features.push(len ? take(len) : undefined);
    }
    add.push([id, { features, teacher }]);
  }
  return { add, keep, heads: meta.heads, options: meta.options };
}
