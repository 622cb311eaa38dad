// A local SageMaker endpoint whose model answers at once, for `npm run bench -- scale`: the same
// server as services/local-endpoint (buildLocalEndpoint, the InvokeEndpoint wire protocol the real
// AWS SDK talks to), hosting the benchmark's variants, each answering `{"label":"ham"}` per record
// without looking at it (instant-model.ts). Inference against it costs the service's own work
// (decode, SDK call, encode, transaction) and almost nothing of the model's.
//   node --import tsx bench/instant-endpoint-main.ts [--endpoint spam-filter] [--variants champion,challenger]
// Like the local endpoint, its first stdout line is a JSON `listening` event with the URL.
import { parseArgs } from 'node:util';
import { CHAMPION_CHALLENGER } from '../lib/contracts/experiment-defaults.ts';
import {
  buildLocalEndpoint,
  type LocalVariant,
  type ModelHandler,
} from '../services/local-endpoint/local-endpoint.ts';
import { answerInstantly } from './instant-model.ts';

const answerAtOnce: ModelHandler = (body, contentType) => answerInstantly(body, contentType);

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string', default: 'spam-filter' },
    variants: { type: 'string', default: CHAMPION_CHALLENGER.map((v) => v.name).join(',') },
  },
  strict: true,
  allowPositionals: false,
});
const names = values.variants.split(',').filter((name) => name !== '');
const variants: LocalVariant[] = names.map((name) => ({
  name,
  weight: 1,
  model: answerAtOnce,
  outputContentType: 'application/json',
}));

const endpoint = buildLocalEndpoint({
  endpoints: [{ name: values.endpoint, variants }],
  host: '127.0.0.1',
});
const { url, port } = await endpoint.listen(0);
process.stdout.write(
  `${JSON.stringify({ event: 'listening', url, port, endpoint: values.endpoint, variants: names, model: 'instant' })}\n`,
);

const stop = (): void => {
  endpoint.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`instant endpoint: stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
