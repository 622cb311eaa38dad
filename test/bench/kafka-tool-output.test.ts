import { describe, expect, it } from 'vitest';
import {
  parseConsumerPerformance,
  parseEndToEndLatency,
  parseProducerPerformance,
} from '../../bench/kafka-tool-output.ts';

// Output captured from kafka-tools 4.1.2 against the embedded broker on the 2-core dev machine.

const PRODUCER_FIXED_SIZE = `105135 records sent, 20851.8 records/sec (5.09 MB/sec), 781.9 ms avg latency, 1307.0 ms max latency.
200000 records sent, 31235.4 records/sec (7.63 MB/sec), 1132.13 ms avg latency, 1837.00 ms max latency, 1080 ms 50th, 1722 ms 95th, 1806 ms 99th, 1836 ms 99.9th.
`;

const PRODUCER_PAYLOAD_FILE = `Reading payloads from: /tmp/kc-probe/mails.txt
Number of messages read: 3087
17881 records sent, 3566.2 records/sec (18.26 MB/sec), 970.5 ms avg latency, 1763.0 ms max latency.
30000 records sent, 4173.6 records/sec (21.47 MB/sec), 967.15 ms avg latency, 1763.00 ms max latency, 861 ms 50th, 1681 ms 95th, 1748 ms 99th, 1760 ms 99.9th.
`;

const CONSUMER = `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-02 16:48:58:303, 2026-12-02 16:49:03:400, 48.8281, 9.5798, 200000, 39238.7679, 2183, 2914, 16.7564, 68634.1798
`;

// --messages 250000 on a topic holding 200000, --timeout 3000: the warning sits between header
// and values, and the tool exits 0.
const CONSUMER_RAN_DRY = `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
WARNING: Exiting before consuming the expected number of messages: timeout (3000 ms) exceeded. You can use the --timeout option to increase the timeout.
2026-12-02 16:56:26:611, 2026-12-02 16:56:30:860, 48.8281, 11.4917, 200000, 47069.8988, 555, 3694, 13.2182, 54141.8517
`;

// The same run with --hide-header: values alone cannot be read by name.
const CONSUMER_NO_HEADER = `2026-12-02 16:49:07:011, 2026-12-02 16:49:11:037, 48.8281, 12.1282, 200000, 49677.0989, 1513, 2513, 19.4302, 79586.1520
`;

const END_TO_END = `Topic "e2e256" does not exist. Will create topic with 1 partition(s) and replication factor = 1
0\t759.255224
1000\t7.311640000000001
2000\t3.323402
Avg latency: 10.1284 ms
Percentiles: 50th = 6, 99th = 56, 99.9th = 109
`;

describe('parseProducerPerformance', () => {
  it('reads the final summary and skips the progress lines', () => {
    expect(parseProducerPerformance(PRODUCER_FIXED_SIZE)).toEqual({
      records: 200_000,
      recordsPerSecond: 31_235.4,
      mibPerSecond: 7.63,
      latencyMs: { avg: 1132.13, max: 1837, p50: 1080, p95: 1722, p99: 1806, p999: 1836 },
      payloadsRead: null,
    });
  });

  it('reports how many payloads the tool read from a payload file', () => {
    const summary = parseProducerPerformance(PRODUCER_PAYLOAD_FILE);
    expect(summary.payloadsRead).toBe(3087);
    expect(summary.records).toBe(30_000);
    expect(summary.recordsPerSecond).toBe(4173.6);
    expect(summary.latencyMs.p99).toBe(1748);
  });

  it('fails, quoting the output, when the run stopped before its summary', () => {
    const cut = PRODUCER_FIXED_SIZE.split('\n')[0]!;
    expect(() => parseProducerPerformance(cut)).toThrow(/final summary[\s\S]*105135 records sent/);
  });
});

describe('parseConsumerPerformance', () => {
  it('reads the values by column name', () => {
    expect(parseConsumerPerformance(CONSUMER)).toEqual({
      records: 200_000,
      mib: 48.8281,
      recordsPerSecond: 39_238.7679,
      mibPerSecond: 9.5798,
      rebalanceMs: 2183,
      fetchMs: 2914,
      fetchRecordsPerSecond: 68_634.1798,
      fetchMibPerSecond: 16.7564,
      warning: null,
    });
  });

  it('reads the values past the warning of a topic that ran dry, and keeps the warning', () => {
    const summary = parseConsumerPerformance(CONSUMER_RAN_DRY);
    expect(summary.records).toBe(200_000);
    expect(summary.fetchRecordsPerSecond).toBe(54_141.8517);
    expect(summary.warning).toMatch(/^WARNING: Exiting before consuming the expected number/);
  });

  it('fails without the header line', () => {
    expect(() => parseConsumerPerformance(CONSUMER_NO_HEADER)).toThrow(/header and values/);
  });

  it('fails when a column it needs is missing', () => {
    const renamed = CONSUMER.replace('fetch.nMsg.sec', 'fetch.records.sec');
    expect(() => parseConsumerPerformance(renamed)).toThrow(/column fetch\.nMsg\.sec/);
  });
});

describe('parseEndToEndLatency', () => {
  it('reads the average, the percentiles and the progress samples', () => {
    expect(parseEndToEndLatency(END_TO_END)).toEqual({
      avgMs: 10.1284,
      p50Ms: 6,
      p99Ms: 56,
      p999Ms: 109,
      progress: [
        [0, 759.255224],
        [1000, 7.311640000000001],
        [2000, 3.323402],
      ],
    });
  });

  it('fails on the usage message', () => {
    const usage =
      'USAGE: java org.apache.kafka.tools.EndToEndLatency broker_list topic num_messages producer_acks message_size_bytes [optional] properties_file';
    expect(() => parseEndToEndLatency(usage)).toThrow(/average and percentiles/);
  });
});
