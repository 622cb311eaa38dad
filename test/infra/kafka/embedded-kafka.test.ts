import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KAFKA_VERSION } from '../../../infra/kafka/embedded-kafka.ts';

describe('embedded Kafka pin', () => {
  it('uses the same Kafka version as the Maven POM that fetches its jars', () => {
    const pom = readFileSync(new URL('../../../infra/kafka/pom.xml', import.meta.url), 'utf8');
    expect(pom).toContain(`<kafka.version>${KAFKA_VERSION}</kafka.version>`);
    expect(KAFKA_VERSION.startsWith('4.')).toBe(true);
  });

  it('fetches the command-line tools of the same Kafka version as the broker', () => {
    const pom = readFileSync(
      new URL('../../../infra/kafka/tools-pom.xml', import.meta.url),
      'utf8',
    );
    expect(pom).toContain(`<kafka.version>${KAFKA_VERSION}</kafka.version>`);
  });
});
