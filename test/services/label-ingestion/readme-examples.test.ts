// The mapping examples of services/label-ingestion/README.md, run: each mapping is checked as at
// start, its app-log record goes through the service's record handler, and the labels it makes
// (decoded from the `labels` topic's encoding) must be exactly the ones the README lists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import {
  createLabelHandler,
  LABEL_RULE_HEADER,
} from '../../../services/label-ingestion/label-handler.ts';
import { checkMapping } from '../../../services/label-ingestion/load-mapping.ts';
import { feedbackLogLine } from '../../../services/demo/demo-traffic.ts';

const readme = readFileSync(
  new URL('../../../services/label-ingestion/README.md', import.meta.url),
  'utf8',
);

interface Example {
  readonly title: string;
  readonly mapping: string;
  readonly appLog: string;
  readonly labels: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const section of readme.split(/^### /m).slice(1)) {
    const blocks = new Map<string, string>();
    for (const match of section.matchAll(/^```(\w+) ([\w-]+)\n([\s\S]*?)^```$/gm)) {
      blocks.set(match[2]!, match[3]!);
    }
    const mapping = blocks.get('mapping');
    const appLog = blocks.get('app-log');
    const labels = blocks.get('labels');
    if (mapping === undefined || appLog === undefined || labels === undefined) continue;
    found.push({ title: section.split('\n', 1)[0]!, mapping, appLog, labels });
  }
  return found;
}

describe('the demo mapping (examples/demo-label-mapping.json)', () => {
  it('maps the application-log lines of the demo to labels', () => {
    const mapping: unknown = JSON.parse(
      readFileSync(new URL('../../../examples/demo-label-mapping.json', import.meta.url), 'utf8'),
    );
    const handler = createLabelHandler({
      loaded: checkMapping(mapping, 'demo'),
      codecs: loadCodecs(),
      labelsTopic: 'labels',
      userAttributionTopic: 'user-attribution',
      maxRecordBytes: 1024,
      now: () => 0,
    });
    const line = feedbackLogLine({ requestId: 'r-1', verdict: 'spam', eventTime: 42 });
    const [out] = handler.handle({
      topic: 'app-logs',
      partition: 0,
      offset: '0',
      key: null,
      value: Buffer.from(line),
      headers: {},
      timestamp: 50,
    });
    expect(out?.key).toBe('r-1');
    expect(loadCodecs().label.decode(out!.value!)).toEqual({
      requestId: 'r-1',
      reward: null,
      label: 'spam',
      eventTime: 42,
      source: 'demo-app-log',
    });
  });
});

describe('label-ingestion README examples', () => {
  const codecs = loadCodecs();
  const all = examples();

  it('finds the examples', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
  });

  it.each(all.map((example) => [example.title, example] as const))('%s', (_title, example) => {
    const loaded = checkMapping(JSON.parse(example.mapping), example.title);
    const handler = createLabelHandler({
      loaded,
      codecs,
      labelsTopic: 'labels',
      userAttributionTopic: 'user-attribution',
      maxRecordBytes: 1024 * 1024,
      now: () => 0,
    });
    const outputs = handler.handle({
      topic: 'app-logs',
      partition: 0,
      offset: '0',
      key: null,
      value: Buffer.from(example.appLog),
      headers: {},
      timestamp: 1_796_637_600_000,
    });
    const made = outputs.map((out) => {
      const label = codecs.label.decode(out.value!);
      expect(out.key).toBe(label.requestId);
      expect(label.source).toBe(loaded.mapping.source);
      return {
        rule: out.headers?.[LABEL_RULE_HEADER],
        requestId: label.requestId,
        reward: label.reward,
        label: label.label,
        eventTime: label.eventTime,
      };
    });
    expect({ unmatched: handler.stats.unmatched, labels: made }).toEqual(
      JSON.parse(example.labels),
    );
  });
});
