import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KAFKA_VERSION } from '../../../infra/kafka/embedded-kafka.ts';
import { kafkaToolsFolder, resolveKafkaToolsClasspath } from '../../../infra/kafka/kafka-tools.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function touch(folder: string, ...names: string[]): Promise<void> {
  await mkdir(folder, { recursive: true });
  await Promise.all(names.map((name) => writeFile(join(folder, name), '')));
}

describe('Kafka tools classpath', () => {
  it('is the cached tools jar, then the broker jars, without running Maven', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'dynab-tools-cache-'));
    dirs.push(cache);
    const libs = join(cache, `kafka-${KAFKA_VERSION}`, 'libs');
    await touch(libs, `kafka_2.13-${KAFKA_VERSION}.jar`, 'kafka-clients.jar', 'README');
    const tools = await kafkaToolsFolder(cache);
    await touch(tools, `kafka-tools-${KAFKA_VERSION}.jar`);

    const classpath = await resolveKafkaToolsClasspath(cache, () => {
      throw new Error('nothing should be fetched');
    });

    expect(classpath.split(':')).toEqual([
      join(tools, `kafka-tools-${KAFKA_VERSION}.jar`),
      join(libs, 'kafka-clients.jar'),
      join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`),
    ]);
  });

  it('keeps the tools jar in a folder of its own next to the broker jars, keyed by the POM', async () => {
    const folder = await kafkaToolsFolder('/cache');
    expect(folder).toMatch(new RegExp(`^/cache/kafka-${KAFKA_VERSION}/tools-[0-9a-f]{12}$`));
  });
});
