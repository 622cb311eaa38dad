// The adapter's replacements of kafkajs internals are in place once the adapter is loaded (each
// would silently leave kafkajs's own, slower, if kafkajs were loaded first).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import '../../../lib/event-log/kafka-event-log.ts';
import { decodeRecord, installFetchDecoding } from '../../../lib/event-log/fetch-decoding.ts';
import {
  groupMessagesPerPartition,
  installLinearGrouping,
} from '../../../lib/event-log/linear-grouping.ts';
import { installProduceEncoding } from '../../../lib/event-log/produce-encoding.ts';
import { installRequestFraming } from '../../../lib/event-log/request-framing.ts';

const require = createRequire(import.meta.url);

describe('kafkajs internals replaced by the adapter', () => {
  it('are in the module cache as soon as the adapter is loaded', () => {
    const cachedExports = (id: string): unknown => require.cache[require.resolve(id)]?.exports;
    expect(cachedExports('kafkajs/src/producer/groupMessagesPerPartition.js')).toBe(
      groupMessagesPerPartition,
    );
    expect(cachedExports('kafkajs/src/protocol/recordBatch/record/v0/decoder.js')).toBe(
      decodeRecord,
    );
    expect(cachedExports('kafkajs/src/protocol/requests/produce/v3/request.js')).toBeDefined();
    expect(cachedExports('kafkajs/src/protocol/request.js')).toBeDefined();
    // Each install answers true only for its own replacement already in place.
    expect(installLinearGrouping()).toBe(true);
    expect(installFetchDecoding()).toBe(true);
    expect(installProduceEncoding()).toBe(true);
    expect(installRequestFraming()).toBe(true);
  });
});
