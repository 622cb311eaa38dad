// The dynab command line.
//   dynab start [options]              the whole pipeline locally (npm start)
//   dynab experiment put FILE.json|-   define or replace an experiment
import { putExperiment } from '../services/cli/put-experiment.ts';
import { launchStack } from '../services/launcher/launch-stack.ts';

const [command, ...rest] = process.argv.slice(2);

switch (command) {
  case 'start':
    process.exitCode = await launchStack(rest);
    break;
  case 'experiment':
    if (rest[0] === 'put') {
      process.exitCode = await putExperiment(rest.slice(1));
      break;
    }
    process.stderr.write('Usage: dynab experiment put FILE.json|-\n');
    process.exitCode = 2;
    break;
  default:
    process.stderr.write(
      'Usage: dynab start [options] | dynab experiment put FILE.json|-   (npm start -- --help)\n',
    );
    process.exitCode = 2;
}
