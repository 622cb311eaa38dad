// Entry point: trains the spam models on the train half of the corpus and serves them as one
// local SageMaker endpoint until SIGTERM/SIGINT. Its first stdout line is a JSON `listening`
// event with the URL (the launcher waits for it); everything else goes to the logger (stderr).

import { toDynabError } from '../../lib/errors/catalogue.ts';
import { createLogger, type Logger } from '../../lib/log/logger.ts';
import { parseLocalEndpointConfig } from './config.ts';
import { buildLocalEndpoint } from './local-endpoint.ts';
import { loadSpamCorpus, splitCorpus } from './spam-corpus.ts';
import { buildSpamEndpointVariants } from './spam-models.ts';

async function runLocalEndpoint(logger: Logger): Promise<void> {
  const config = parseLocalEndpointConfig(process.argv.slice(2), process.env);
  const started = performance.now();
  const { train } = splitCorpus(loadSpamCorpus());
  const variants = buildSpamEndpointVariants(train, config.variants);
  const trainMs = Math.round(performance.now() - started);

  const endpoint = buildLocalEndpoint({
    endpoints: [{ name: config.endpointName, variants }],
    host: config.host,
  });
  const { url, port } = await endpoint.listen(config.port);
  const listening = {
    event: 'listening',
    url,
    port,
    endpoint: config.endpointName,
    variants: config.variants.map((variant) => ({
      name: variant.name,
      weight: variant.weight,
      recipe: variant.recipe ?? variant.name,
    })),
    trainMs,
  };
  process.stdout.write(`${JSON.stringify(listening)}\n`);
  logger.info(listening, 'listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    endpoint.close().then(
      () => logger.info({ signal }, 'stopped'),
      (error: unknown) => {
        logger.error({ err: error, signal }, 'stop failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function startFromCommandLine(): void {
  const logger = createLogger('local-endpoint');
  runLocalEndpoint(logger).catch((error: unknown) => {
    const failure = toDynabError(error);
    logger.fatal({ err: failure, code: failure.code }, 'cannot start');
    process.exitCode = 2;
  });
}

startFromCommandLine();
