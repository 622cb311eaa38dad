import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { compileWriter } from '../lib/codec/body-writer.ts';
for (const s of ['request','assignment','prediction','label','reward','posterior','experiment','experiment-stats','decision','dead-letter','experiment-history']) {
  const t = avro.Type.forSchema(JSON.parse(readFileSync(`schemas/${s}.avsc`,'utf8')), { wrapUnions: false });
  console.log(s, compileWriter(t) !== undefined);
}
