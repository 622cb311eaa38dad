import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { VariantAssigned } from '../lib/contracts/events.ts';
const codecs = loadCodecs();
const payload = Buffer.from('x'.repeat(200) + ' héllo wörld mail text here yes');
const N = 300_000;
const reqs: Buffer[] = [];
for (let i = 0; i < 1000; i++) reqs.push(codecs.request.encode({ requestId: `req-${i}-0000000000-aaaaaaaaaaaa`, experiment: 'spam-filter', payload, contentType: 'text/plain', userId: null, targetVariant: null, eventTime: Date.now() }));
function time(name: string, f: (i: number) => unknown) {
  for (let i = 0; i < 50_000; i++) f(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f(i);
  const ns = Number(process.hrtime.bigint() - t) / N;
  console.log(name, ns.toFixed(0), 'ns');
}
const decoded = codecs.request.decode(reqs[0]!);
const a: VariantAssigned = { request: decoded, variant: 'challenger', policy: 'thompson-sampling', snapshotVersion: 12345, propensity: 0.4, reason: 'posterior', decisionTime: Date.now(), allocation: [{ variant: 'champion', probability: 0.6 }, { variant: 'challenger', probability: 0.4 }], shadowVariants: [], experimentRevision: 3 };
for (let r = 0; r < 3; r++) {
time('request.decode', (i) => codecs.request.decode(reqs[i % 1000]!));
time('assignment.encode', (i) => codecs.assignment.encode(a));
}
import avro from 'avsc';
import { readFileSync } from 'node:fs';
const aSchema = JSON.parse(readFileSync('schemas/assignment.avsc', 'utf8'));
const tailType = avro.Type.forSchema({ type: 'record', name: 'dynab.v1.Tail', fields: aSchema.fields.slice(1) }, { wrapUnions: false });
const hdr = codecs.assignment.encode(a).subarray(0, 10);
let scratch = Buffer.allocUnsafe(65536);
function splice(body: Uint8Array, v: VariantAssigned): Buffer {
  const end = tailType.encode(v, scratch, 0);
  const out = Buffer.allocUnsafe(10 + body.length + end);
  hdr.copy(out, 0);
  out.set(body, 10);
  scratch.copy(out, 10 + body.length, 0, end);
  return out;
}
const body = reqs[0]!.subarray(10);
console.log(Buffer.compare(splice(body, a), codecs.assignment.encode(a)));
for (let r = 0; r < 3; r++) time('splice', () => splice(body, a));
// hand tail
const strCache = new Map<string, Buffer>();
function strBytes(s: string): Buffer { let b = strCache.get(s); if (b === undefined) { const n = Buffer.byteLength(s); const t = Buffer.allocUnsafe(10 + n); let p = writeLong(t, 0, n); t.write(s, p); b = t.subarray(0, p + n); strCache.set(s, b); } return b; }
function writeLong(buf: Buffer, pos: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) { buf[pos++] = (z % 0x80) | 0x80; z = Math.floor(z / 0x80); }
  buf[pos++] = z; return pos;
}
const f64 = new Float64Array(1); const f64b = new Uint8Array(f64.buffer);
function writeDouble(buf: Buffer, pos: number, d: number): number { f64[0] = d; buf.set(f64b, pos); return pos + 8; }
function putStr(buf: Buffer, pos: number, s: string): number { const b = strBytes(s); buf.set(b, pos); return pos + b.length; }
function handTail(body: Uint8Array, v: VariantAssigned): Buffer {
  let p = 0; const s = scratch;
  p = putStr(s, p, v.variant); p = putStr(s, p, v.policy); p = writeLong(s, p, v.snapshotVersion); p = writeDouble(s, p, v.propensity); p = putStr(s, p, v.reason); p = writeLong(s, p, v.decisionTime);
  if (v.allocation.length > 0) { p = writeLong(s, p, v.allocation.length); for (const e of v.allocation) { p = putStr(s, p, e.variant); p = writeDouble(s, p, e.probability); } }
  s[p++] = 0;
  if (v.shadowVariants.length > 0) { p = writeLong(s, p, v.shadowVariants.length); for (const e of v.shadowVariants) p = putStr(s, p, e); }
  s[p++] = 0;
  if (v.experimentRevision === null) s[p++] = 0; else { s[p++] = 2; p = writeLong(s, p, v.experimentRevision); }
  const out = Buffer.allocUnsafe(10 + body.length + p);
  hdr.copy(out, 0); out.set(body, 10); s.copy(out, 10 + body.length, 0, p);
  return out;
}
console.log(Buffer.compare(handTail(body, a), codecs.assignment.encode(a)));
for (let r = 0; r < 3; r++) time('handTail', () => handTail(body, a));
for (let r = 0; r < 2; r++) time('alloc', () => Buffer.allocUnsafe(330));
for (let r = 0; r < 2; r++) time('alloc+copies', () => { const out = Buffer.allocUnsafe(330); hdr.copy(out, 0); out.set(body, 10); scratch.copy(out, 10 + body.length, 0, 60); return out; });
for (let r = 0; r < 2; r++) time('noop', () => 1);
function readLong(buf: Buffer, st: { p: number }): number {
  let p = st.p; let b = buf[p++]!; let n = b & 0x7f; let k = 1;
  while (b & 0x80) { b = buf[p++]!; k *= 128; n += (b & 0x7f) * k; }
  st.p = p; return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}
function readStr(buf: Buffer, st: { p: number }): string { const n = readLong(buf, st); const s = buf.utf8Slice(st.p, st.p + n); st.p += n; return s; }
function readStrAscii(buf: Buffer, st: { p: number }): string { const n = readLong(buf, st); const p = st.p; const e = p + n; let ascii = true; for (let i = p; i < e; i++) if (buf[i]! >= 0x80) { ascii = false; break; } const s = ascii ? buf.latin1Slice(p, e) : buf.utf8Slice(p, e); st.p = e; return s; }
function handDecode(buf: Buffer, rs: typeof readStr) {
  const st = { p: 10 };
  const requestId = rs(buf, st); const experiment = rs(buf, st);
  const n = readLong(buf, st); const payload = new Uint8Array(buf.buffer, buf.byteOffset + st.p, n); st.p += n;
  const contentType = rs(buf, st);
  const u = readLong(buf, st); const userId = u === 0 ? null : rs(buf, st);
  const t = readLong(buf, st); const targetVariant = t === 0 ? null : rs(buf, st);
  const eventTime = readLong(buf, st);
  if (st.p !== buf.length) throw new Error('x');
  return { requestId, experiment, payload, contentType, userId, targetVariant, eventTime };
}
console.log(handDecode(reqs[5]!, readStr), codecs.request.decode(reqs[5]!));
for (let r = 0; r < 2; r++) time('handDecode utf8Slice', (i) => handDecode(reqs[i % 1000]!, readStr));
for (let r = 0; r < 2; r++) time('handDecode ascii', (i) => handDecode(reqs[i % 1000]!, readStrAscii));
for (let r = 0; r < 2; r++) time('request.decode', (i) => codecs.request.decode(reqs[i % 1000]!));
const dec2 = codecs.request.decodeSharing(reqs[7]!);
const a2 = { ...a, request: dec2 };
console.log('embed equal', Buffer.compare(codecs.assignment.encodeEmbedding(a2, reqs[7]!), codecs.assignment.encode(a2)));
for (let r = 0; r < 3; r++) time('encodeEmbedding', (i) => codecs.assignment.encodeEmbedding(a2, reqs[7]!));
for (let r = 0; r < 2; r++) time('decodeSharing', (i) => codecs.request.decodeSharing(reqs[i % 1000]!));
